// C2C handoffs through the router, end to end: two real workers of the shipped models
// (planner: cw-llama; coder: cw-gemma3, both with full caches) loading the random C2C test
// fusers of both directions, and a router whose config names them by file only:
// - the router pipes the sharer's cache into the receiver's session of the same text; every
//   receiver entry is fused (full caches hold every token), the bytes moved are the sharer's
//   keys and values of the layers the fuser reads (f16) and the spans, and the receiver's next
//   answer changes against a twin session that had no handoff; both directions;
// - a text appended in different pieces on the two sides is still the same text;
// - a receiver holding another text is refused (FAILED_PRECONDITION naming to_session_id)
//   and answers exactly as its twin does;
// - LCF, for which no adapter is configured here, is FAILED_PRECONDITION.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/server/router/router_fixture.h"

namespace cachewire::router::testing {
namespace {

using ::testing::HasSubstr;

const std::string kSource = CACHEWIRE_SOURCE_DIR;
const std::string kLlamaToGemma =
    kSource + "/tests/data/adapters/cw-llama--cw-gemma3.random.c2c.gguf";
const std::string kGemmaToLlama =
    kSource + "/tests/data/adapters/cw-gemma3--cw-llama.random.c2c.gguf";

constexpr char kShared[] =
    "Mike Lee has a pet ferret . The owner of West Manor is Mike Lee . Pablo Ellis code 4 4 1 9 .";
constexpr char kOther[] = "Helen Hayes works as a teacher . Julia Tate lives at Iron Farm .";

// The shipped agents' cache shapes: 6 layers each, one kv-head, head size 32 for both
// (models/*.md). A fuser reads every sharer layer, each at its own depth.
struct Pair {
  std::string sharer, receiver;
  int64_t sharer_layers_read, receiver_layers;
};
const Pair kForward{"planner", "coder", 6, 6};
const Pair kBackward{"coder", "planner", 6, 6};
constexpr int64_t kHeadBytes = (32 + 32) * 2;  // one entry's f16 key and value

class RouterC2cTest : public SharedDeploymentTest {
 protected:
  static void SetUpTestSuite() {
    deployment_ = new RouterDeployment();
    deployment_->AddConfig("adapters:\n"
                           "  - {sharer: planner, receiver: coder, kind: c2c, file: " +
                           kLlamaToGemma + "}\n"
                           "  - {sharer: coder, receiver: planner, kind: c2c, file: " +
                           kGemmaToLlama + "}\n");
    const std::vector<std::string> adapters = {"--adapter", kLlamaToGemma, "--adapter",
                                               kGemmaToLlama};
    const absl::Status started =
        deployment_->Start({{"planner", kSource + "/models/cw-llama.gguf", adapters},
                            {"coder", kSource + "/models/cw-gemma3.gguf", adapters}});
    ASSERT_TRUE(started.ok()) << started;
  }

  static std::string SessionWith(const std::string& agent, const std::string& text) {
    const std::string session = NewSession(agent);
    EXPECT_TRUE(AppendText(session, text).ok());
    return session;
  }

  static grpc::Status Handoff(const std::string& from, const std::string& to,
                              v1::HandoffMode mode, v1::HandoffResponse* moved) {
    v1::HandoffRequest handoff;
    handoff.set_from_session_id(from);
    handoff.set_to_session_id(to);
    handoff.set_mode(mode);
    return router().Handoff(RouterDeployment::Context(kTokenA).get(), handoff, moved);
  }

  static int64_t Tokens(const std::string& session) {
    v1::GetSessionRequest get;
    get.set_session_id(session);
    v1::GetSessionResponse got;
    EXPECT_TRUE(router().GetSession(RouterDeployment::Context(kTokenA).get(), get, &got).ok());
    return got.stats().n_tokens();
  }

  // The greedy answer's first tokens and their log-probabilities.
  static std::vector<float> Answer(const std::string& session) {
    v1::GenerateRequest request;
    request.set_session_id(session);
    request.set_text(" Question: What is the code of Pablo Ellis ? Answer:");
    request.mutable_sampling()->set_max_tokens(4);
    request.mutable_sampling()->set_temperature(0);
    request.set_top_logprobs(5);
    auto context = RouterDeployment::Context(kTokenA);
    auto reader = router().Generate(context.get(), request);
    std::vector<float> out;
    v1::GenerateResponse message;
    while (reader->Read(&message)) {
      if (!message.has_tokens()) continue;
      for (const v1::TokenLogprob& t : message.tokens().top_logprobs()) {
        out.push_back(static_cast<float>(t.token_id()));
        out.push_back(t.logprob());
      }
    }
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_FALSE(out.empty());
    return out;
  }
};

TEST_F(RouterC2cTest, FusesTheSharedTextAndChangesTheAnswer) {
  for (const Pair& pair : {kForward, kBackward}) {
    SCOPED_TRACE(pair.sharer + " -> " + pair.receiver);
    const std::string sharer = SessionWith(pair.sharer, kShared);
    const std::string receiver = SessionWith(pair.receiver, kShared);
    const std::string twin = SessionWith(pair.receiver, kShared);
    v1::HandoffResponse moved;
    const grpc::Status status = Handoff(sharer, receiver, v1::HANDOFF_MODE_C2C, &moved);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(moved.mode(), v1::HANDOFF_MODE_C2C);
    EXPECT_THAT(moved.adapter(), HasSubstr(".random"));
    EXPECT_EQ(moved.entries_fused(), Tokens(receiver) * pair.receiver_layers);
    EXPECT_EQ(moved.entries_unmatched(), 0);
    EXPECT_EQ(moved.receiver_tokens_added(), 0);
    // The sharer's keys and values, plus a few bytes a token for its span and index.
    const int64_t entries = Tokens(sharer) * pair.sharer_layers_read * kHeadBytes;
    EXPECT_GE(moved.bytes_moved(), entries);
    EXPECT_LE(moved.bytes_moved(), entries + Tokens(sharer) * (pair.sharer_layers_read + 2) * 2);
    EXPECT_GT(moved.import_ms(), 0.0);
    EXPECT_NE(Answer(receiver), Answer(twin));
  }
}

// Appends split the text differently on the two sides (each append is one tokenizer call; a
// SentencePiece agent puts a space in front of each): still the same text, every entry fused.
TEST_F(RouterC2cTest, TextAppendedInDifferentPiecesIsTheSameText) {
  const std::string text = kShared;
  const size_t a = text.find(" The owner"), b = text.find("Ellis");
  for (const Pair& pair : {kForward, kBackward}) {
    SCOPED_TRACE(pair.sharer + " -> " + pair.receiver);
    const std::string sharer = SessionWith(pair.sharer, text.substr(0, a));
    ASSERT_TRUE(AppendText(sharer, text.substr(a)).ok());
    const std::string receiver = SessionWith(pair.receiver, text.substr(0, b));
    ASSERT_TRUE(AppendText(receiver, text.substr(b)).ok());
    v1::HandoffResponse moved;
    const grpc::Status status = Handoff(sharer, receiver, v1::HANDOFF_MODE_C2C, &moved);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(moved.entries_fused(), Tokens(receiver) * pair.receiver_layers);
    EXPECT_EQ(moved.entries_unmatched(), 0);
  }
}

TEST_F(RouterC2cTest, AnotherTextIsRefusedAndChangesNothing) {
  const std::string sharer = SessionWith("planner", kShared);
  const std::string receiver = SessionWith("coder", kOther);
  const std::string twin = SessionWith("coder", kOther);
  v1::HandoffResponse moved;
  const grpc::Status status = Handoff(sharer, receiver, v1::HANDOFF_MODE_C2C, &moved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("to_session_id"));
  EXPECT_EQ(Answer(receiver), Answer(twin));
}

TEST_F(RouterC2cTest, LcfNeedsItsOwnAdapter) {
  const std::string sharer = SessionWith("planner", kShared);
  const std::string receiver = SessionWith("coder", kShared);
  v1::HandoffResponse moved;
  const grpc::Status status = Handoff(sharer, receiver, v1::HANDOFF_MODE_LCF, &moved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("no adapter configured"));
}

}  // namespace
}  // namespace cachewire::router::testing
