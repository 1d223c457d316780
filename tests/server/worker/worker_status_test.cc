// The status table of API.md as it applies to the worker, each row provoked for real on a live
// cachewire-worker, checking the code and that the message names the field or resource; then a
// bank of malformed requests (empty, huge, negative, NaN, unknown ids, bytes that are not the
// request type) after which the worker still reports SERVING and generates normally.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grpcpp/generic/generic_stub.h>

#include <cmath>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tests/server/worker/worker_client.h"
#include "tests/server/worker/worker_process.h"

namespace cachewire::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kMaxSessions = 6;
constexpr int kMaxQueue = 3;
constexpr int kMaxTextBytes = 2048;

class WorkerStatusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    worker_ = new WorkerProcess(
        {"--model", kGoldenDir + "tiny-gemma3-gqa4-f16.gguf", "--threads", "1", "--log-level",
         "error", "--max-sessions", std::to_string(kMaxSessions), "--max-queue",
         std::to_string(kMaxQueue), "--max-text-bytes", std::to_string(kMaxTextBytes)});
  }
  static void TearDownTestSuite() { delete worker_; }
  void SetUp() override {
    ASSERT_TRUE(worker_->started()) << worker_->error();
    channel_ = grpc::CreateChannel(worker_->grpc_address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Worker::NewStub(channel_);
    session_ = OpenSession(*stub_);
    ASSERT_FALSE(session_.empty());
  }
  void TearDown() override {  // SetUp may have failed before the stub or session existed
    if (stub_ != nullptr && !session_.empty()) CloseSession(*stub_, session_);
  }

  grpc::Status Append(const v1::AppendRequest& request) {
    v1::AppendResponse response;
    return stub_->Append(Context().get(), request, &response);
  }
  grpc::Status GenerateWith(const v1::SamplingParams& sampling, int32_t top_logprobs = 0) {
    v1::GenerateRequest request;
    request.set_session_id(session_);
    request.set_text("hello");
    *request.mutable_sampling() = sampling;
    request.set_top_logprobs(top_logprobs);
    return Generate(*stub_, request).status;
  }
  // A normal request still works and health is SERVING.
  void ExpectServing() {
    EXPECT_EQ(Health(channel_), "SERVING");
    v1::GenerateRequest request;
    request.set_session_id(session_);
    request.set_text("still here");
    request.mutable_sampling()->set_max_tokens(3);
    Stream s = Generate(*stub_, request);
    EXPECT_TRUE(s.status.ok()) << s.status.error_message();
    EXPECT_TRUE(s.has_summary);
  }

  static WorkerProcess* worker_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Worker::Stub> stub_;
  std::string session_;
};

WorkerProcess* WorkerStatusTest::worker_ = nullptr;

#define EXPECT_STATUS(call, code, field)                                     \
  do {                                                                       \
    const grpc::Status st_ = (call);                                         \
    EXPECT_EQ(st_.error_code(), grpc::StatusCode::code) << st_.error_message(); \
    EXPECT_THAT(st_.error_message(), HasSubstr(field));                      \
  } while (0)

TEST_F(WorkerStatusTest, UnknownSessionIsNotFound) {
  const std::string unknown = "s_00000000000000000000000000000000";
  v1::AppendRequest append;
  append.set_session_id(unknown);
  append.set_text("x");
  EXPECT_STATUS(Append(append), NOT_FOUND, "session_id");
  v1::GenerateRequest gen;
  gen.set_session_id(unknown);
  EXPECT_STATUS(Generate(*stub_, gen).status, NOT_FOUND, "session_id");
  EXPECT_STATUS(CloseSession(*stub_, unknown), NOT_FOUND, "session_id");
  v1::StatsRequest stats;
  stats.set_session_id(unknown);
  v1::StatsResponse stats_response;
  EXPECT_STATUS(stub_->Stats(Context().get(), stats, &stats_response), NOT_FOUND, "session_id");
  v1::GetTranscriptRequest tr;
  tr.set_session_id(unknown);
  v1::GetTranscriptResponse tr_response;
  EXPECT_STATUS(stub_->GetTranscript(Context().get(), tr, &tr_response), NOT_FOUND, "session_id");
  // A closed session is unknown too.
  const std::string closed = OpenSession(*stub_);
  ASSERT_TRUE(CloseSession(*stub_, closed).ok());
  append.set_session_id(closed);
  EXPECT_STATUS(Append(append), NOT_FOUND, "session_id");
}

TEST_F(WorkerStatusTest, BadInputIsInvalidArgumentNamingTheField) {
  v1::AppendRequest r;
  r.set_session_id(session_);
  r.set_text("");
  EXPECT_STATUS(Append(r), INVALID_ARGUMENT, "text");
  r.set_text(std::string(kMaxTextBytes + 1, 'a'));
  EXPECT_STATUS(Append(r), INVALID_ARGUMENT, "max_text_bytes");
  r.clear_text();
  EXPECT_STATUS(Append(r), INVALID_ARGUMENT, "input");
  r.set_session_id("");
  r.set_text("x");
  EXPECT_STATUS(Append(r), INVALID_ARGUMENT, "session_id");

  v1::AppendRequest chat;
  chat.set_session_id(session_);
  chat.mutable_messages();
  EXPECT_STATUS(Append(chat), INVALID_ARGUMENT, "messages");
  auto* m = chat.mutable_messages()->add_messages();
  m->set_role("robot");
  m->set_content("hi");
  EXPECT_STATUS(Append(chat), INVALID_ARGUMENT, "messages[0].role");
  m->set_role("user");
  m->set_content("");
  EXPECT_STATUS(Append(chat), INVALID_ARGUMENT, "messages[0].content");
  m->set_content(std::string(kMaxTextBytes + 1, 'b'));
  EXPECT_STATUS(Append(chat), INVALID_ARGUMENT, "messages[0].content");
}

TEST_F(WorkerStatusTest, BadSamplingParameterIsInvalidArgumentNamingIt) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  v1::SamplingParams p;
  p.set_temperature(-1);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.temperature");
  p.set_temperature(nan);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.temperature");
  p = {};
  p.set_top_p(1.5f);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.top_p");
  p.set_top_p(0.0f);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.top_p");
  p.set_top_p(inf);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.top_p");
  p = {};
  p.set_top_k(-3);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.top_k");
  p = {};
  p.set_min_p(1.0f);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.min_p");
  p.set_min_p(nan);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.min_p");
  p = {};
  p.set_repetition_penalty(0.0f);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.repetition_penalty");
  p.set_repetition_penalty(-inf);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.repetition_penalty");
  p = {};
  p.set_max_tokens(-5);
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.max_tokens");
  p = {};
  p.add_stop("");
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.stop[0]");
  p = {};
  for (int i = 0; i < 17; ++i) p.add_stop("x");
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.stop");
  p = {};
  EXPECT_STATUS(GenerateWith(p, 21), INVALID_ARGUMENT, "top_logprobs");
  EXPECT_STATUS(GenerateWith(p, -1), INVALID_ARGUMENT, "top_logprobs");
  // Nothing was appended by the refused calls.
  v1::GetTranscriptRequest tr;
  tr.set_session_id(session_);
  v1::GetTranscriptResponse transcript;
  ASSERT_TRUE(stub_->GetTranscript(Context().get(), tr, &transcript).ok());
  EXPECT_EQ(transcript.n_tokens(), 0);
}

TEST_F(WorkerStatusTest, BadSessionOptionsNameTheField) {
  v1::OpenSessionRequest r;
  v1::OpenSessionResponse response;
  r.set_n_ctx(-1);
  EXPECT_STATUS(stub_->OpenSession(Context().get(), r, &response), INVALID_ARGUMENT, "n_ctx");
  r.set_n_ctx(int64_t{1} << 40);
  EXPECT_STATUS(stub_->OpenSession(Context().get(), r, &response), INVALID_ARGUMENT, "n_ctx");
  r.set_n_ctx(0);
  r.mutable_cache_policy()->set_n_sink(-1);
  EXPECT_STATUS(stub_->OpenSession(Context().get(), r, &response), INVALID_ARGUMENT,
                "cache_policy.n_sink");
  r.mutable_cache_policy()->set_n_sink(4);
  r.mutable_cache_policy()->set_bounded(true);
  r.mutable_cache_policy()->set_budget(8);
  r.mutable_cache_policy()->set_window(16);
  EXPECT_STATUS(stub_->OpenSession(Context().get(), r, &response), INVALID_ARGUMENT,
                "cache_policy.window");
}

TEST_F(WorkerStatusTest, NothingToContinueIsFailedPrecondition) {
  v1::GenerateRequest gen;
  gen.set_session_id(session_);
  EXPECT_STATUS(Generate(*stub_, gen).status, FAILED_PRECONDITION, "session_id");
}

TEST_F(WorkerStatusTest, LimitsAreResourceExhaustedNamingThem) {
  // A text larger than the session's context.
  v1::OpenSessionRequest small;
  small.set_n_ctx(8);
  v1::OpenSessionResponse small_session;
  ASSERT_TRUE(stub_->OpenSession(Context().get(), small, &small_session).ok());
  v1::AppendResponse appended;
  EXPECT_STATUS(AppendText(*stub_, small_session.session_id(),
                           "a text of many more than eight tokens for this session", &appended),
                RESOURCE_EXHAUSTED, "text");
  CloseSession(*stub_, small_session.session_id());

  // The session limit (SetUp holds one).
  std::vector<std::string> opened;
  grpc::Status refused;
  for (int i = 0; i < kMaxSessions + 1 && refused.ok(); ++i) {
    v1::OpenSessionRequest r;
    v1::OpenSessionResponse response;
    refused = stub_->OpenSession(Context().get(), r, &response);
    if (refused.ok()) opened.push_back(response.session_id());
  }
  EXPECT_EQ(opened.size(), static_cast<size_t>(kMaxSessions - 1));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("max_sessions"));
  for (const std::string& id : opened) EXPECT_TRUE(CloseSession(*stub_, id).ok());

  // The queue: kMaxQueue long generations in flight, one more is refused. (This model and seed
  // never end their turn within 2000 tokens: the streams last until cancelled.)
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>>> readers;
  std::vector<std::string> ids;
  for (int i = 0; i < kMaxQueue; ++i) {
    ids.push_back(OpenSession(*stub_, 2048));
    v1::GenerateRequest r;
    r.set_session_id(ids.back());
    r.set_text("go on and on");
    r.mutable_sampling()->set_max_tokens(2000);
    r.mutable_sampling()->set_temperature(1.0f);
    r.mutable_sampling()->set_seed(static_cast<uint64_t>(i));
    contexts.push_back(Context());
    readers.push_back(stub_->Generate(contexts.back().get(), r));
    v1::GenerateResponse first;
    ASSERT_TRUE(readers.back()->Read(&first)) << "stream " << i << " ended early";
  }
  v1::AppendResponse queued;
  EXPECT_STATUS(AppendText(*stub_, session_, "one more", &queued), RESOURCE_EXHAUSTED,
                "max_queue");
  for (auto& ctx : contexts) ctx->TryCancel();
  for (auto& reader : readers) {
    v1::GenerateResponse m;
    while (reader->Read(&m)) {
    }
    reader->Finish();
  }
  for (const std::string& id : ids) CloseSession(*stub_, id);
}

// Raw bytes sent as a method's request: the server must answer with an error, not crash.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& bytes) {
  grpc::GenericStub generic(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  auto ctx = Context(5);
  generic.UnaryCall(ctx.get(), method, grpc::StubOptions(), &request, &response,
                    [&](grpc::Status st) { done.set_value(st); });
  return done.get_future().get();
}

TEST_F(WorkerStatusTest, MalformedRequestsLeaveTheWorkerServing) {
  // Bytes that are not the request type (bad wire types, truncated lengths, garbage).
  const std::string garbage[] = {std::string("\xff\xff\xff\xff\xff", 5),
                                 std::string("\x0a\xff\xff\xff\x0f", 5),
                                 std::string("\x12\x05hi", 4), std::string(1000, '\x08')};
  // (The last one happens to parse: field 1 as a varint, repeated.)
  for (const char* method : {"/cachewire.v1.Worker/Append", "/cachewire.v1.Worker/OpenSession",
                             "/cachewire.v1.Worker/Info", "/cachewire.v1.Worker/CloseSession",
                             "/cachewire.v1.Worker/NoSuchMethod"}) {
    for (const std::string& bytes : garbage) {
      const grpc::Status st = RawCall(channel_, method, bytes);
      if (&bytes == &garbage[0]) {
        EXPECT_FALSE(st.ok()) << method;
      }
    }
  }
  // Valid messages of the wrong type: a GenerateRequest read as an OpenSessionRequest has
  // unknown fields only, or fields of the wrong wire type.
  v1::GenerateRequest wrong;
  wrong.set_session_id("s_1");
  wrong.mutable_sampling()->set_temperature(2);
  RawCall(channel_, "/cachewire.v1.Worker/Stats", wrong.SerializeAsString());
  RawCall(channel_, "/cachewire.v1.Worker/Append", wrong.SerializeAsString());

  // Huge, binary and odd ids; huge texts; NaN and extreme numbers.
  v1::AppendRequest a;
  a.set_session_id(std::string(100000, 'z'));
  a.set_text("x");
  EXPECT_STATUS(Append(a), NOT_FOUND, "session_id");
  a.set_session_id(std::string("\x01\x02\"\n", 4));
  EXPECT_STATUS(Append(a), NOT_FOUND, "session_id");
  a.set_session_id(session_);
  a.set_text(std::string(3 << 20, 'q'));
  EXPECT_STATUS(Append(a), INVALID_ARGUMENT, "text");
  v1::SamplingParams p;
  p.set_max_tokens(std::numeric_limits<int32_t>::max());
  p.set_top_k(std::numeric_limits<int32_t>::max());
  p.set_temperature(std::numeric_limits<float>::max());
  p.add_stop(std::string(300, 's'));
  EXPECT_STATUS(GenerateWith(p), INVALID_ARGUMENT, "sampling.stop[0]");
  v1::OpenSessionRequest open;
  open.set_n_ctx(std::numeric_limits<int64_t>::min());
  v1::OpenSessionResponse opened;
  EXPECT_STATUS(stub_->OpenSession(Context().get(), open, &opened), INVALID_ARGUMENT, "n_ctx");

  ExpectServing();
}

}  // namespace
}  // namespace cachewire::testing
