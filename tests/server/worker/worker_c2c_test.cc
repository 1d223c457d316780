// C2C handoffs between two real cachewire-worker processes on loopback, cw-llama and cw-gemma3,
// each loading both shipped fusers (cw-llama--cw-gemma3 and cw-gemma3--cw-llama: each worker is
// the sharer of one and the receiver of the other), the sharer also the random LCF adapter:
// - ExportCache streams a header (the text's spans) and then entry chunks of one (layer,
//   kv-head) of at most entries_per_chunk entries; FuseCache of those chunks into a session of
//   the same text fuses entries, aligns every receiver token and changes what the receiver
//   generates, in both directions, on an unbounded cache;
// - a stream cut before its last chunk (ended or cancelled) and malformed chunks change
//   nothing: the receiver answers as an untouched twin does;
// - the status table: a receiver of another text is FAILED_PRECONDITION naming session_id, the
//   wrong side of a fuser FAILED_PRECONDITION naming it, an unknown fuser or session NOT_FOUND,
//   an adapter of the other kind FAILED_PRECONDITION naming both kinds;
// - Info lists the fusers as kind "c2c", the metrics count the exports, and a file of neither
//   kind, a name taken twice or a fuser for neither side of the model stops the worker at start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
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
const std::string kLlamaToGemmaFile = kSource + "/models/adapters/cw-llama--cw-gemma3.c2c.gguf";
const std::string kGemmaToLlamaFile = kSource + "/models/adapters/cw-gemma3--cw-llama.c2c.gguf";
const std::string kLcfFile = kSource + "/tests/data/adapters/cw-llama--cw-gemma3.random.lcf.gguf";
// general.name of each file.
const std::string kLlamaToGemma = "cw-llama--cw-gemma3";
const std::string kGemmaToLlama = "cw-gemma3--cw-llama";
const std::string kLcf = "cw-llama--cw-gemma3.random";
const std::string kNoSession = "s_00000000000000000000000000000000";

// A shared_facts episode of the suite's test split (tools/suite/data/test.jsonl): both agents
// hold the same text.
constexpr char kShared[] =
    "The pet of Mark Jones is a mouse . Olga Lopez pet hamster . Ethan Vance likes yellow . "
    "Quinn Ito has code 2 4 8 9 . Ethan Vance code 6 7 8 9 .";
constexpr char kOther[] =
    "The pet of Mark Jones is a mouse . Olga Lopez pet hamster . Ethan Vance likes yellow . "
    "Quinn Ito has code 2 4 8 8 . Ethan Vance code 6 7 8 9 .";
constexpr char kQuestion[] = " Question: What is the code of Quinn Ito ? Answer:";

Exported<v1::CacheChunk> Export(v1::Worker::Stub& stub, const std::string& session,
                                const std::string& adapter, int32_t entries_per_chunk = 0) {
  v1::ExportCacheRequest request;
  request.set_session_id(session);
  request.set_adapter(adapter);
  request.set_entries_per_chunk(entries_per_chunk);
  return ReadChunks<v1::CacheChunk>(
      [&](grpc::ClientContext* ctx) { return stub.ExportCache(ctx, request); });
}

grpc::Status Fuse(v1::Worker::Stub& stub, const std::string& session,
                  std::vector<v1::CacheChunk> chunks, v1::FuseCacheResponse* response,
                  ImportOptions options = {}) {
  return WriteChunks<v1::CacheChunk>(
      [&](grpc::ClientContext* ctx, v1::FuseCacheResponse* r) { return stub.FuseCache(ctx, r); },
      session, std::move(chunks), response, options);
}

// One side of the pair: a worker and the fuser it exports with.
struct Side {
  v1::Worker::Stub* stub;
  std::string fuser;  // the fuser whose sharer this worker's model is
};

class WorkerC2cTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    llama_ = new WorkerProcess({"--model", kLlama, "--adapter", kLlamaToGemmaFile, "--adapter",
                                kGemmaToLlamaFile, "--adapter", kLcfFile, "--threads", "1",
                                "--log-level", "warn", "--metrics", "127.0.0.1:0"});
    gemma_ = new WorkerProcess({"--model", kGemma, "--adapter", kLlamaToGemmaFile, "--adapter",
                                kGemmaToLlamaFile, "--threads", "1", "--log-level", "warn"});
  }
  static void TearDownTestSuite() {
    delete llama_;
    delete gemma_;
  }
  void SetUp() override {
    ASSERT_TRUE(llama_->started()) << llama_->error();
    ASSERT_TRUE(gemma_->started()) << gemma_->error();
    llama_stub_ = StubOn(*llama_);
    gemma_stub_ = StubOn(*gemma_);
  }

  Side llama() { return {llama_stub_.get(), kLlamaToGemma}; }
  Side gemma() { return {gemma_stub_.get(), kGemmaToLlama}; }

  // A session (the worker's default policy: an unbounded cache) holding `text`.
  static std::string SessionWith(v1::Worker::Stub& stub, const std::string& text) {
    const std::string session = OpenSession(stub);
    v1::AppendResponse appended;
    const grpc::Status st = AppendText(stub, session, text, &appended);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return session;
  }

  // The sharer's export of a session holding `text`.
  static std::vector<v1::CacheChunk> SharerChunks(const Side& sharer,
                                                  const std::string& text = kShared,
                                                  int32_t entries_per_chunk = 0) {
    Exported<v1::CacheChunk> out =
        Export(*sharer.stub, SessionWith(*sharer.stub, text), sharer.fuser, entries_per_chunk);
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    EXPECT_FALSE(out.chunks.empty());
    return out.chunks;
  }

  // What a receiver holding the shared text answers without any fusion.
  static Answer Baseline(v1::Worker::Stub& receiver) {
    return Ask(receiver, SessionWith(receiver, kShared), kQuestion);
  }

  // Fuses the sharer's export into a receiver session of the same text and checks the answer.
  static void ExpectFusionChangesTheAnswer(const Side& sharer, v1::Worker::Stub& receiver) {
    const Answer baseline = Baseline(receiver);
    const std::string session = SessionWith(receiver, kShared);
    const int64_t n_tokens = StatsOf(receiver, session).n_tokens();
    ASSERT_GT(n_tokens, 1);
    v1::FuseCacheResponse fused;
    const grpc::Status st = Fuse(receiver, session, SharerChunks(sharer), &fused);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_GT(fused.entries_fused(), 0);
    EXPECT_GE(fused.entries_unmatched(), 0);
    EXPECT_EQ(fused.tokens_aligned(), n_tokens);
    // Fusion rewrites entries in place: the cache holds as many as before.
    EXPECT_EQ(fused.cache().entries(), fused.entries_fused() + fused.entries_unmatched());
    EXPECT_GE(fused.fuse_ms(), 0);
    EXPECT_GE(fused.queue_ms(), 0);
    const Answer after = Ask(receiver, session, kQuestion);
    // A trained fuser moves the answer's log-probabilities (by far more than float noise,
    // which ExpectSameAnswer shows is none for an untouched session).
    EXPECT_TRUE(after.ids != baseline.ids || MaxLogprobChange(after, baseline) > 1e-5f)
        << "the fused entries changed nothing the receiver generates";
  }

  static WorkerProcess* llama_;
  static WorkerProcess* gemma_;
  std::unique_ptr<v1::Worker::Stub> llama_stub_;
  std::unique_ptr<v1::Worker::Stub> gemma_stub_;
};

WorkerProcess* WorkerC2cTest::llama_ = nullptr;
WorkerProcess* WorkerC2cTest::gemma_ = nullptr;

TEST_F(WorkerC2cTest, ExportStreamsTheSpansThenOneHeadPerChunk) {
  const std::string session = SessionWith(*llama_stub_, kShared);
  const int64_t n_tokens = StatsOf(*llama_stub_, session).n_tokens();
  const Exported<v1::CacheChunk> out = Export(*llama_stub_, session, kLlamaToGemma, 16);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_GE(out.chunks.size(), 2u);
  const v1::CacheChunk& header = out.chunks[0];
  EXPECT_EQ(header.span_begin_size(), n_tokens);
  EXPECT_EQ(header.span_end_size(), n_tokens);
  EXPECT_EQ(header.text_bytes(), header.span_end(header.span_end_size() - 1));
  EXPECT_GT(header.text_bytes(), 0);
  EXPECT_EQ(header.tokens_size(), 0);
  // cw-llama: 6 layers of one kv-head of 32 + 32, every layer read by the fuser.
  std::set<int64_t> layers;
  int64_t entries = 0;
  for (size_t i = 0; i < out.chunks.size(); ++i) {
    SCOPED_TRACE("chunk " + std::to_string(i));
    const v1::CacheChunk& c = out.chunks[i];
    EXPECT_EQ(c.seq(), static_cast<int64_t>(i));
    EXPECT_EQ(c.adapter(), kLlamaToGemma);
    EXPECT_TRUE(c.session_id().empty());  // the sharer's id never leaves its worker
    EXPECT_EQ(c.last(), i + 1 == out.chunks.size());
    if (i == 0) continue;
    layers.insert(c.layer());
    EXPECT_EQ(c.kv_head(), 0);
    EXPECT_EQ(c.head_dim_k(), 32);
    EXPECT_EQ(c.head_dim_v(), 32);
    EXPECT_GE(c.tokens_size(), 1);
    EXPECT_LE(c.tokens_size(), 16);
    EXPECT_EQ(c.keys().size(), static_cast<size_t>(c.tokens_size() * 32 * 2));
    entries += c.tokens_size();
  }
  EXPECT_EQ(layers, (std::set<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(entries, 6 * n_tokens);  // an unbounded cache keeps every token in every layer

  // The default chunking carries the same entries in fewer chunks.
  const Exported<v1::CacheChunk> whole = Export(*llama_stub_, session, kLlamaToGemma);
  ASSERT_TRUE(whole.status.ok()) << whole.status.error_message();
  EXPECT_LT(whole.chunks.size(), out.chunks.size());
  const auto joined = [](const std::vector<v1::CacheChunk>& chunks) {
    std::string keys, values;
    for (const auto& c : chunks) {
      keys += c.keys();
      values += c.values();
    }
    return keys + values;
  };
  EXPECT_TRUE(joined(out.chunks) == joined(whole.chunks));  // not printed: binary
}

TEST_F(WorkerC2cTest, FusingLlamaIntoGemmaChangesTheReceiversAnswer) {
  ExpectFusionChangesTheAnswer(llama(), *gemma_stub_);
}

TEST_F(WorkerC2cTest, FusingGemmaIntoLlamaChangesTheReceiversAnswer) {
  ExpectFusionChangesTheAnswer(gemma(), *llama_stub_);
}

TEST_F(WorkerC2cTest, StreamCutBeforeItsLastChunkChangesNothing) {
  const Answer baseline = Baseline(*gemma_stub_);
  std::vector<v1::CacheChunk> chunks = SharerChunks(llama(), kShared, 8);
  ASSERT_GE(chunks.size(), 3u);
  chunks.pop_back();
  const std::string ended = SessionWith(*gemma_stub_, kShared);
  v1::FuseCacheResponse response;
  EXPECT_STATUS(Fuse(*gemma_stub_, ended, chunks, &response), INVALID_ARGUMENT, "last");
  ExpectSameAnswer(Ask(*gemma_stub_, ended, kQuestion), baseline);

  const std::string cancelled = SessionWith(*gemma_stub_, kShared);
  EXPECT_EQ(Fuse(*gemma_stub_, cancelled, chunks, &response, {.writes_done = false})
                .error_code(),
            grpc::StatusCode::CANCELLED);
  ExpectSameAnswer(Ask(*gemma_stub_, cancelled, kQuestion), baseline);
}

TEST_F(WorkerC2cTest, MalformedChunksAreInvalidArgumentNamingTheField) {
  const Answer baseline = Baseline(*gemma_stub_);
  const std::vector<v1::CacheChunk> good = SharerChunks(llama(), kShared, 8);
  ASSERT_GE(good.size(), 4u);
  struct Case {
    std::function<void(std::vector<v1::CacheChunk>&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](auto& c) { c[2].set_seq(3); }, "chunk 3: seq"},
      {[](auto& c) { c[0].set_seq(1); }, "chunk 1: seq"},
      {[](auto& c) { c[1].mutable_keys()->pop_back(); }, "chunk 1: keys"},
      {[](auto& c) { (*c[2].mutable_values())[1] = '\x7e'; }, "chunk 2: values: entry 0 value 0"},
      {[](auto& c) { c[1].set_layer(99); }, "chunk 1: layer"},
      {[](auto& c) { c[3].set_kv_head(1); }, "chunk 3: kv_head"},
      {[](auto& c) { c[1].set_head_dim_k(64); }, "chunk 1: head_dim_k"},
      {[](auto& c) { c[2].set_text_bytes(1); }, "chunk 2: text_bytes"},
      {[](auto& c) { c[0].add_span_end(0); }, "chunk 0: span_end"},
      {[](auto& c) { c[1].set_tokens(0, 100000); }, "chunk 1: tokens"},
      {[](auto& c) { c[2].set_adapter(kGemmaToLlama); }, "chunk 2: adapter"},
      {[](auto& c) { c.back().set_last(false); }, "last"},
  };
  const std::string session = SessionWith(*gemma_stub_, kShared);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    std::vector<v1::CacheChunk> chunks = good;
    c.mutate(chunks);
    v1::FuseCacheResponse response;
    EXPECT_STATUS(Fuse(*gemma_stub_, session, chunks, &response), INVALID_ARGUMENT, c.message);
  }
  ExpectSameAnswer(Ask(*gemma_stub_, session, kQuestion), baseline);
}

TEST_F(WorkerC2cTest, ReceiverOfAnotherTextIsFailedPreconditionNamingTheSession) {
  const Answer baseline = Ask(*gemma_stub_, SessionWith(*gemma_stub_, kOther), kQuestion);
  const std::string session = SessionWith(*gemma_stub_, kOther);
  v1::FuseCacheResponse response;
  EXPECT_STATUS(Fuse(*gemma_stub_, session, SharerChunks(llama()), &response),
                FAILED_PRECONDITION, "session_id");
  ExpectSameAnswer(Ask(*gemma_stub_, session, kQuestion), baseline);
}

TEST_F(WorkerC2cTest, WrongSideIsFailedPreconditionNamingIt) {
  // The gemma worker cannot export with cw-llama--cw-gemma3: its model is the receiver.
  EXPECT_STATUS(Export(*gemma_stub_, SessionWith(*gemma_stub_, kShared), kLlamaToGemma).status,
                FAILED_PRECONDITION, "sharer");
  // The llama worker cannot fuse with it: its model is the sharer.
  v1::FuseCacheResponse response;
  EXPECT_STATUS(Fuse(*llama_stub_, SessionWith(*llama_stub_, kShared), SharerChunks(llama()),
                     &response),
                FAILED_PRECONDITION, "receiver");
}

TEST_F(WorkerC2cTest, UnknownAdapterOrSessionIsNotFound) {
  const std::string session = SessionWith(*llama_stub_, kShared);
  EXPECT_STATUS(Export(*llama_stub_, session, "no-such-fuser").status, NOT_FOUND,
                "adapter 'no-such-fuser'");
  EXPECT_STATUS(Export(*llama_stub_, kNoSession, kLlamaToGemma).status, NOT_FOUND, "session_id");

  std::vector<v1::CacheChunk> chunks = SharerChunks(llama());
  for (auto& c : chunks) c.set_adapter("no-such-fuser");
  v1::FuseCacheResponse response;
  EXPECT_STATUS(Fuse(*gemma_stub_, SessionWith(*gemma_stub_, kShared), chunks, &response),
                NOT_FOUND, "adapter 'no-such-fuser'");
  EXPECT_STATUS(Fuse(*gemma_stub_, kNoSession, SharerChunks(llama()), &response), NOT_FOUND,
                "session_id");
}

TEST_F(WorkerC2cTest, AdapterOfTheOtherKindIsFailedPrecondition) {
  const std::string session = SessionWith(*llama_stub_, kShared);
  EXPECT_STATUS(Export(*llama_stub_, session, kLcf).status, FAILED_PRECONDITION,
                "an lcf adapter, not a c2c fuser");
  v1::ExportSummaryRequest request;
  request.set_session_id(session);
  request.set_adapter(kLlamaToGemma);
  const Exported<v1::SummaryChunk> summary = ReadChunks<v1::SummaryChunk>(
      [&](grpc::ClientContext* ctx) { return llama_stub_->ExportSummary(ctx, request); });
  EXPECT_STATUS(summary.status, FAILED_PRECONDITION, "a c2c fuser, not an lcf adapter");
}

TEST_F(WorkerC2cTest, EmptySessionAndChunkSizeOutOfRangeAreRefused) {
  EXPECT_STATUS(Export(*llama_stub_, OpenSession(*llama_stub_), kLlamaToGemma).status,
                FAILED_PRECONDITION, "session_id");
  const std::string session = SessionWith(*llama_stub_, kShared);
  EXPECT_STATUS(Export(*llama_stub_, session, kLlamaToGemma, 4097).status, INVALID_ARGUMENT,
                "entries_per_chunk");
  EXPECT_STATUS(Export(*llama_stub_, session, kLlamaToGemma, -1).status, INVALID_ARGUMENT,
                "entries_per_chunk");
  // An empty receiver holds no text to fuse into.
  v1::FuseCacheResponse response;
  EXPECT_STATUS(Fuse(*gemma_stub_, OpenSession(*gemma_stub_), SharerChunks(llama()), &response),
                FAILED_PRECONDITION, "session_id");
}

TEST_F(WorkerC2cTest, InfoListsTheFusersAsC2cWithThisWorkersSide) {
  v1::InfoResponse info;
  ASSERT_TRUE(llama_stub_->Info(Context().get(), v1::InfoRequest(), &info).ok());
  ASSERT_EQ(info.adapters_size(), 3);
  for (const v1::WorkerAdapter& a : info.adapters()) {
    SCOPED_TRACE(a.name());
    const bool c2c = a.name() != kLcf;
    EXPECT_EQ(a.kind(), c2c ? "c2c" : "lcf");
    EXPECT_EQ(a.n_slots() == 0, c2c);
    EXPECT_EQ(a.is_sharer(), a.sharer_model() == "cw-llama");
    EXPECT_EQ(a.is_receiver(), a.receiver_model() == "cw-llama");
  }
  EXPECT_EQ(info.adapters(0).name(), kLlamaToGemma);
  EXPECT_EQ(info.adapters(0).receiver_model(), "cw-gemma3");
  EXPECT_EQ(info.adapters(0).path(), kLlamaToGemmaFile);
  EXPECT_TRUE(info.adapters(1).is_receiver());  // cw-gemma3--cw-llama
}

TEST_F(WorkerC2cTest, MetricsCountExports) {
  SharerChunks(llama());
  const std::string text = FetchMetrics(llama_->metrics_address());
  EXPECT_THAT(text, HasSubstr("cachewire_worker_c2c_exports_total"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("cachewire_worker_c2c_exports_total 0\n")));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_c2c_bytes_total{direction=\"export\"}"));
  EXPECT_THAT(text, HasSubstr("cachewire_worker_handoff_seconds_count{phase=\"cache_export\"}"));
}

TEST(WorkerC2cStartTest, AFileOfNeitherKindOrANameTakenTwiceStopsTheWorker) {
  int code = 0;
  // A model is no adapter: its architecture is named.
  std::string output = RunWorkerToExit({"--model", kLlama, "--adapter", kGemma}, &code);
  EXPECT_GT(code, 0) << output;
  EXPECT_THAT(output, HasSubstr(kGemma));
  EXPECT_THAT(output, HasSubstr("general.architecture: 'gemma3'"));
  // Names are unique within a kind: the same fuser twice is refused, naming the first file.
  output = RunWorkerToExit(
      {"--model", kLlama, "--adapter", kLlamaToGemmaFile, "--adapter", kLlamaToGemmaFile}, &code);
  EXPECT_GT(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("general.name 'cw-llama--cw-gemma3' is also the name of " +
                                kLlamaToGemmaFile));
  // A fuser made for neither side of the model.
  output = RunWorkerToExit(
      {"--model", kGoldenDir + "tiny-gemma3-gqa4-f16.gguf", "--adapter", kLlamaToGemmaFile},
      &code);
  EXPECT_GT(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("made for neither side"));
  EXPECT_THAT(output, ::testing::Not(HasSubstr("listening")));
}

}  // namespace
}  // namespace cachewire::testing
