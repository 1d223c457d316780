// LCF handoffs between two real cachewire-worker processes on loopback: cw-llama (the sharer,
// serving ExportSummary) and cw-gemma3 (the receiver, serving ImportSummary), both loading the
// random test adapter made for exactly that pair (tests/data/adapters, 4 slots of 32):
// - an export streams the summary in chunks, and importing them pins the entries into a
//   bounded receiver session (Stats shows them) and changes what the receiver generates;
// - a stream cut before its last chunk (ended or cancelled), and malformed chunks (a gap in
//   the sequence numbers, a wrong byte length, NaN, a foreign shape) change nothing: pinned
//   entries stay 0 and the generation equals one without any import;
// - the status table: the wrong side of the adapter is FAILED_PRECONDITION naming "sharer" or
//   "receiver", an unknown adapter or session NOT_FOUND, an empty sharer session or an
//   unbounded receiver FAILED_PRECONDITION;
// - a per-token adapter's stream declares its slot count, within the adapter's most;
// - Info lists the adapters with this worker's side, the metrics count the handoffs, and an
//   adapter made for neither side of the model stops the worker at start, naming the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/server/worker/handoff_client.h"
#include "tests/server/worker/worker_client.h"
#include "tests/server/worker/worker_process.h"

namespace cachewire::testing {
namespace {

using ::testing::HasSubstr;

const std::string kSource = CACHEWIRE_SOURCE_DIR;
const std::string kLlama = kSource + "/models/cw-llama.gguf";
const std::string kGemma = kSource + "/models/cw-gemma3.gguf";
const std::string kAdapterFile =
    kSource + "/tests/data/adapters/cw-llama--cw-gemma3.random.lcf.gguf";
const std::string kAdapter = "cw-llama--cw-gemma3.random";  // its general.name
// A per-token adapter for the same pair: one slot of 16 per sharer token, at most 6.
const std::string kTokensFile =
    kSource + "/tests/data/adapters/cw-llama--cw-gemma3.random-tokens.lcf.gguf";
const std::string kTokens = "cw-llama--cw-gemma3.random-tokens";
constexpr int64_t kSlots = 4;
constexpr int64_t kSlotDim = 32;
// cw-gemma3: 6 layers (global and sliding-window alike take pins), one kv-head.
constexpr int64_t kReceiverLayers = 6;

constexpr char kSharerContext[] =
    "Mike Lee has a pet ferret . The owner of West Manor is Mike Lee . Pablo Ellis colour purple "
    ". The code of Tina Lee is 0 7 1 8 . Simon Bell works as a doctor .";
constexpr char kReceiverContext[] =
    "Helen Hayes works as a teacher . The colour of Omar Grant is green . Julia Tate lives at "
    "Iron Farm .";
constexpr char kQuestion[] = " Question: Who owns West Manor ? Answer:";

// A bounded policy that fits the models' 512 positions (budget + slack) and takes pins.
v1::CachePolicy BoundedPolicy() {
  v1::CachePolicy p;
  p.set_bounded(true);
  p.set_budget(448);
  p.set_slack(64);
  p.set_window(256);
  return p;
}

Exported<v1::SummaryChunk> Export(v1::Worker::Stub& stub, const std::string& session,
                                  const std::string& adapter, int32_t slots_per_chunk = 0) {
  v1::ExportSummaryRequest request;
  request.set_session_id(session);
  request.set_adapter(adapter);
  request.set_slots_per_chunk(slots_per_chunk);
  return ReadChunks<v1::SummaryChunk>(
      [&](grpc::ClientContext* ctx) { return stub.ExportSummary(ctx, request); });
}

// Streams `chunks` into `session` (named in the first chunk) and returns the call's status.
grpc::Status Import(v1::Worker::Stub& stub, const std::string& session,
                    std::vector<v1::SummaryChunk> chunks, v1::ImportSummaryResponse* response,
                    ImportOptions options = {}) {
  return WriteChunks<v1::SummaryChunk>(
      [&](grpc::ClientContext* ctx, v1::ImportSummaryResponse* r) {
        return stub.ImportSummary(ctx, r);
      },
      session, std::move(chunks), response, options);
}

int64_t Pinned(v1::Worker::Stub& stub, const std::string& session) {
  return StatsOf(stub, session).cache().pinned();
}

class WorkerHandoffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sharer_ = new WorkerProcess({"--model", kLlama, "--adapter", kAdapterFile, "--adapter",
                                 kTokensFile, "--threads", "1", "--log-level", "warn",
                                 "--metrics", "127.0.0.1:0"});
    receiver_ = new WorkerProcess({"--model", kGemma, "--adapter", kAdapterFile, "--adapter",
                                   kTokensFile, "--threads", "1", "--log-level", "warn"});
  }
  static void TearDownTestSuite() {
    delete sharer_;
    delete receiver_;
  }
  void SetUp() override {
    ASSERT_TRUE(sharer_->started()) << sharer_->error();
    ASSERT_TRUE(receiver_->started()) << receiver_->error();
    sharer_stub_ = StubOn(*sharer_);
    receiver_stub_ = StubOn(*receiver_);
  }

  // A sharer session that read the records, and its summary in one-slot chunks.
  std::vector<v1::SummaryChunk> SharerSummary(const std::string& adapter = kAdapter) {
    const std::string session = OpenSession(*sharer_stub_);
    v1::AppendResponse appended;
    EXPECT_TRUE(AppendText(*sharer_stub_, session, kSharerContext, &appended).ok());
    Exported<v1::SummaryChunk> out = Export(*sharer_stub_, session, adapter, 1);
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    return out.chunks;
  }

  // A bounded receiver session holding its own context.
  std::string ReceiverSession() {
    const v1::CachePolicy policy = BoundedPolicy();
    const std::string session = OpenWithPolicy(*receiver_stub_, &policy);
    v1::AppendResponse appended;
    EXPECT_TRUE(AppendText(*receiver_stub_, session, kReceiverContext, &appended).ok());
    return session;
  }

  // What the receiver answers without any import (the baseline every failed import keeps).
  Answer Baseline() { return Ask(*receiver_stub_, ReceiverSession(), kQuestion); }

  static WorkerProcess* sharer_;
  static WorkerProcess* receiver_;
  std::unique_ptr<v1::Worker::Stub> sharer_stub_;
  std::unique_ptr<v1::Worker::Stub> receiver_stub_;
};

WorkerProcess* WorkerHandoffTest::sharer_ = nullptr;
WorkerProcess* WorkerHandoffTest::receiver_ = nullptr;

TEST_F(WorkerHandoffTest, ExportStreamsTheSummaryInNumberedChunks) {
  const std::vector<v1::SummaryChunk> chunks = SharerSummary();
  ASSERT_EQ(chunks.size(), static_cast<size_t>(kSlots));
  for (size_t i = 0; i < chunks.size(); ++i) {
    SCOPED_TRACE("chunk " + std::to_string(i));
    EXPECT_EQ(chunks[i].seq(), static_cast<int64_t>(i));
    EXPECT_EQ(chunks[i].adapter(), kAdapter);
    EXPECT_EQ(chunks[i].n_slots(), kSlots);
    EXPECT_EQ(chunks[i].slot_dim(), kSlotDim);
    EXPECT_EQ(chunks[i].first_slot(), static_cast<int64_t>(i));
    EXPECT_EQ(chunks[i].slot_count(), 1);
    EXPECT_EQ(chunks[i].slots().size(), static_cast<size_t>(kSlotDim * 2));
    EXPECT_EQ(chunks[i].last(), i + 1 == chunks.size());
    EXPECT_TRUE(chunks[i].session_id().empty());  // the sharer's id never leaves its worker
  }
  // The default chunking carries the same bytes.
  const std::string session = OpenSession(*sharer_stub_);
  v1::AppendResponse appended;
  ASSERT_TRUE(AppendText(*sharer_stub_, session, kSharerContext, &appended).ok());
  const Exported<v1::SummaryChunk> whole = Export(*sharer_stub_, session, kAdapter);
  ASSERT_TRUE(whole.status.ok()) << whole.status.error_message();
  std::string a, b;
  for (const auto& c : chunks) a += c.slots();
  for (const auto& c : whole.chunks) b += c.slots();
  EXPECT_EQ(a, b);
}

// A per-token adapter's summary has one slot per token sent (6 of the context's ~40 here), the
// stream declares that count, and the receiver pins as many entries; a stream declaring more than
// the adapter's most is refused and changes nothing.
TEST_F(WorkerHandoffTest, PerTokenSummariesCarryTheirOwnSlotCount) {
  constexpr int64_t kSent = 6;
  std::vector<v1::SummaryChunk> chunks = SharerSummary(kTokens);
  ASSERT_EQ(chunks.size(), static_cast<size_t>(kSent));
  for (const auto& c : chunks) {
    EXPECT_EQ(c.n_slots(), kSent);
    EXPECT_EQ(c.slot_dim(), 16);
  }
  const std::string session = ReceiverSession();
  v1::ImportSummaryResponse imported;
  grpc::Status st = Import(*receiver_stub_, session, chunks, &imported);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(imported.slots_imported(), kSent);
  EXPECT_EQ(Pinned(*receiver_stub_, session), kSent * kReceiverLayers);

  std::vector<v1::SummaryChunk> more = chunks;
  for (auto& c : more) c.set_n_slots(kSent + 1);
  v1::SummaryChunk extra = more.back();
  more.back().set_last(false);
  extra.set_seq(kSent);
  extra.set_first_slot(kSent);
  more.push_back(extra);
  const std::string fresh = ReceiverSession();
  st = Import(*receiver_stub_, fresh, more, &imported);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("n_slots: adapter '" + kTokens + "' takes 1 to 6"));
  EXPECT_EQ(Pinned(*receiver_stub_, fresh), 0);
}

TEST_F(WorkerHandoffTest, ImportPinsTheSlotsAndChangesTheReceiversAnswer) {
  const Answer baseline = Baseline();
  const std::string session = ReceiverSession();
  v1::ImportSummaryResponse imported;
  const grpc::Status st = Import(*receiver_stub_, session, SharerSummary(), &imported);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(imported.slots_imported(), kSlots);
  ASSERT_EQ(imported.pinned_per_layer_size(), kReceiverLayers);
  for (int il = 0; il < kReceiverLayers; ++il) {
    EXPECT_EQ(imported.pinned_per_layer(il), kSlots) << "layer " << il;
  }
  EXPECT_EQ(imported.cache().pinned(), kSlots * kReceiverLayers);
  EXPECT_EQ(Pinned(*receiver_stub_, session), kSlots * kReceiverLayers);

  const Answer after = Ask(*receiver_stub_, session, kQuestion);
  // Random slots move the answer (by far more than float noise, which ExpectSameAnswer shows
  // is none for an unchanged session).
  EXPECT_TRUE(after.ids != baseline.ids || MaxLogprobChange(after, baseline) > 1e-5f)
      << "the pinned entries changed nothing the receiver generates";

  // A second import replaces the pins rather than adding to them.
  ASSERT_TRUE(Import(*receiver_stub_, session, SharerSummary(), &imported).ok());
  EXPECT_EQ(Pinned(*receiver_stub_, session), kSlots * kReceiverLayers);
}

TEST_F(WorkerHandoffTest, StreamCutBeforeItsLastChunkChangesNothing) {
  const Answer baseline = Baseline();
  std::vector<v1::SummaryChunk> chunks = SharerSummary();
  chunks.pop_back();
  const std::string ended = ReceiverSession();
  v1::ImportSummaryResponse response;
  EXPECT_STATUS(Import(*receiver_stub_, ended, chunks, &response), INVALID_ARGUMENT, "last");
  EXPECT_EQ(Pinned(*receiver_stub_, ended), 0);
  ExpectSameAnswer(Ask(*receiver_stub_, ended, kQuestion), baseline);

  const std::string cancelled = ReceiverSession();
  EXPECT_EQ(Import(*receiver_stub_, cancelled, chunks, &response, {.writes_done = false})
                .error_code(),
            grpc::StatusCode::CANCELLED);
  EXPECT_EQ(Pinned(*receiver_stub_, cancelled), 0);
  ExpectSameAnswer(Ask(*receiver_stub_, cancelled, kQuestion), baseline);
}

TEST_F(WorkerHandoffTest, MalformedChunksAreInvalidArgumentNamingTheField) {
  const std::vector<v1::SummaryChunk> good = SharerSummary();
  ASSERT_EQ(good.size(), static_cast<size_t>(kSlots));
  struct Case {
    const char* what;
    std::function<void(std::vector<v1::SummaryChunk>&)> mutate;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"gap in the sequence numbers", [](auto& c) { c[2].set_seq(3); }, "seq"},
      {"first chunk not 0", [](auto& c) { c[0].set_seq(1); }, "seq"},
      {"one byte short", [](auto& c) { c[1].mutable_slots()->pop_back(); }, "slots"},
      {"NaN", [](auto& c) { (*c[1].mutable_slots())[1] = '\x7e'; },
       "slots: slot 1 value 0 is nan"},
      {"infinity", [](auto& c) {
         (*c[3].mutable_slots())[0] = '\x00';
         (*c[3].mutable_slots())[1] = '\x7c';
       }, "slots"},
      {"foreign slot count", [](auto& c) { c[1].set_n_slots(8); }, "n_slots"},
      {"foreign slot width", [](auto& c) { c[0].set_slot_dim(16); }, "slot_dim"},
      {"overlapping range", [](auto& c) { c[2].set_first_slot(1); }, "first_slot"},
      {"range past the end", [](auto& c) { c[3].set_slot_count(2); }, "slot_count"},
      {"adapter changes mid-stream", [](auto& c) { c[2].set_adapter("other"); }, "adapter"},
      {"last set early", [](auto& c) { c[1].set_last(true); }, "last"},
      {"last never set", [](auto& c) { c[3].set_last(false); }, "last"},
      {"chunk after the last", [](auto& c) { c.push_back(c[3]); c[4].set_seq(4); }, "seq"},
  };
  const std::string session = ReceiverSession();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<v1::SummaryChunk> chunks = good;
    c.mutate(chunks);
    v1::ImportSummaryResponse response;
    const grpc::Status st = Import(*receiver_stub_, session, chunks, &response);
    if (std::string(c.what) == "chunk after the last") {
      // The summary is applied at the marked chunk; what follows is never read.
      EXPECT_TRUE(st.ok()) << st.error_message();
      continue;
    }
    EXPECT_STATUS(st, INVALID_ARGUMENT, c.field);
    EXPECT_EQ(Pinned(*receiver_stub_, session), 0);
  }
}

TEST_F(WorkerHandoffTest, WrongSideIsFailedPreconditionNamingIt) {
  // The receiver's worker cannot encode with the adapter: its model is the receiver.
  const std::string receiver_session = ReceiverSession();
  EXPECT_STATUS(Export(*receiver_stub_, receiver_session, kAdapter).status, FAILED_PRECONDITION,
                "sharer");
  // The sharer's worker cannot decode with it.
  const v1::CachePolicy policy = BoundedPolicy();
  const std::string sharer_session = OpenWithPolicy(*sharer_stub_, &policy);
  v1::ImportSummaryResponse response;
  EXPECT_STATUS(Import(*sharer_stub_, sharer_session, SharerSummary(), &response),
                FAILED_PRECONDITION, "receiver");
  EXPECT_EQ(Pinned(*sharer_stub_, sharer_session), 0);
}

TEST_F(WorkerHandoffTest, UnknownAdapterOrSessionIsNotFound) {
  const std::string sharer_session = OpenSession(*sharer_stub_);
  v1::AppendResponse appended;
  ASSERT_TRUE(AppendText(*sharer_stub_, sharer_session, kSharerContext, &appended).ok());
  EXPECT_STATUS(Export(*sharer_stub_, sharer_session, "no-such-adapter").status, NOT_FOUND,
                "adapter 'no-such-adapter'");
  EXPECT_STATUS(Export(*sharer_stub_, "s_00000000000000000000000000000000", kAdapter).status,
                NOT_FOUND, "session_id");

  std::vector<v1::SummaryChunk> chunks = SharerSummary();
  for (auto& c : chunks) c.set_adapter("no-such-adapter");
  const std::string session = ReceiverSession();
  v1::ImportSummaryResponse response;
  EXPECT_STATUS(Import(*receiver_stub_, session, chunks, &response), NOT_FOUND, "adapter");
  EXPECT_STATUS(Import(*receiver_stub_, "s_00000000000000000000000000000000", SharerSummary(),
                       &response),
                NOT_FOUND, "session_id");
  EXPECT_EQ(Pinned(*receiver_stub_, session), 0);
}

TEST_F(WorkerHandoffTest, EmptySharerAndUnboundedReceiverAreFailedPrecondition) {
  const std::string empty = OpenSession(*sharer_stub_);
  EXPECT_STATUS(Export(*sharer_stub_, empty, kAdapter).status, FAILED_PRECONDITION, "session_id");

  const std::string unbounded = OpenWithPolicy(*receiver_stub_, nullptr);
  v1::AppendResponse appended;
  ASSERT_TRUE(AppendText(*receiver_stub_, unbounded, kReceiverContext, &appended).ok());
  v1::ImportSummaryResponse response;
  const grpc::Status st = Import(*receiver_stub_, unbounded, SharerSummary(), &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("session_id"));
  EXPECT_THAT(st.error_message(), HasSubstr("bounded cache"));
}

TEST_F(WorkerHandoffTest, InfoListsTheAdaptersWithThisWorkersSide) {
  v1::InfoResponse sharer, receiver;
  ASSERT_TRUE(sharer_stub_->Info(Context().get(), v1::InfoRequest(), &sharer).ok());
  ASSERT_TRUE(receiver_stub_->Info(Context().get(), v1::InfoRequest(), &receiver).ok());
  ASSERT_EQ(sharer.adapters_size(), 2);
  ASSERT_EQ(receiver.adapters_size(), 2);
  const bool first = sharer.adapters(0).name() == kAdapter;
  const v1::WorkerAdapter& a = sharer.adapters(first ? 0 : 1);
  const v1::WorkerAdapter& tokens = sharer.adapters(first ? 1 : 0);
  EXPECT_EQ(tokens.name(), kTokens);
  EXPECT_TRUE(tokens.per_token());
  EXPECT_EQ(tokens.n_slots(), 6);
  EXPECT_FALSE(a.per_token());
  EXPECT_EQ(a.name(), kAdapter);
  EXPECT_EQ(a.kind(), "lcf");
  EXPECT_EQ(a.sharer_model(), "cw-llama");
  EXPECT_EQ(a.receiver_model(), "cw-gemma3");
  EXPECT_EQ(a.n_slots(), kSlots);
  EXPECT_EQ(a.slot_dim(), kSlotDim);
  EXPECT_TRUE(a.is_sharer());
  EXPECT_FALSE(a.is_receiver());
  EXPECT_FALSE(receiver.adapters(0).is_sharer());
  EXPECT_TRUE(receiver.adapters(0).is_receiver());
}

TEST_F(WorkerHandoffTest, MetricsCountExports) {
  SharerSummary();
  const std::string text = FetchMetrics(sharer_->metrics_address());
  EXPECT_THAT(text, HasSubstr("cachewire_worker_handoff_exports_total"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("cachewire_worker_handoff_exports_total 0\n")));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_handoff_bytes_total{direction=\"export\"}"));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_handoff_seconds_count{phase=\"encode\"}"));
}

TEST(WorkerHandoffStartTest, AdapterForNeitherSideStopsTheWorkerNamingTheFile) {
  // cw-llama -> cw-gemma3 read by a worker of the tiny golden Gemma: neither of its models.
  int code = 0;
  const std::string output = RunWorkerToExit(
      {"--model", kGoldenDir + "tiny-gemma3-gqa4-f16.gguf", "--adapter", kAdapterFile}, &code);
  EXPECT_GT(code, 0) << output;
  EXPECT_THAT(output, HasSubstr(kAdapterFile));
  EXPECT_THAT(output, HasSubstr("neither"));
  EXPECT_THAT(output, ::testing::Not(HasSubstr("listening")));
}

}  // namespace
}  // namespace cachewire::testing
