// End to end through a real cachewire-worker on loopback (tiny Gemma 3 golden model):
// - a generation streams exactly the tokens and text of the engine's own generator run
//   in-process with the same prompt, parameters and seed (greedy and sampled; with the prompt
//   appended first or sent with the Generate call); bytes that are not UTF-8 arrive as U+FFFD;
// - concurrent streams (batched by the worker's scheduler) equal the same streams run alone;
// - logprobs and top logprobs are consistent with the sampled tokens;
// - the transcript holds the prompt and the reply, and chat turns appended one at a time keep
//   one BOS and record the reply as an assistant turn.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <thread>

#include "engine/generate/chat_template.h"
#include "engine/generate/generator.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/worker/utf8.h"
#include "tests/server/worker/worker_client.h"
#include "tests/server/worker/worker_process.h"

namespace cachewire::testing {
namespace {

const std::string kModel = kGoldenDir + "tiny-gemma3-gqa4-f16.gguf";

class WorkerGenerateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    worker_ = new WorkerProcess({"--model", kModel, "--threads", "1", "--log-level", "warn"});
    auto m = model::Model::Load(kModel, {.n_threads = 1});
    if (m.ok()) model_ = m->release();
  }
  static void TearDownTestSuite() {
    delete worker_;
    delete model_;
  }
  void SetUp() override {
    ASSERT_TRUE(worker_->started()) << worker_->error();
    ASSERT_NE(model_, nullptr);
    stub_ = v1::Worker::NewStub(
        grpc::CreateChannel(worker_->grpc_address(), grpc::InsecureChannelCredentials()));
  }

  // The engine's own generation of `prompt` (BOS added, as the worker does for a session's
  // first text).
  generate::GenerateStats EngineGenerate(const std::string& prompt,
                                         const generate::GenerateParams& params,
                                         std::string* text) {
    auto session = model_->NewSession({.n_ctx = 2048});
    EXPECT_TRUE(session.ok());
    auto stats = generate::Generate(*model_, **session, prompt, params,
                                    [&](std::string_view piece) {
                                      *text += piece;
                                      return true;
                                    });
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : generate::GenerateStats{};
  }

  static WorkerProcess* worker_;
  static model::Model* model_;
  std::unique_ptr<v1::Worker::Stub> stub_;
};

WorkerProcess* WorkerGenerateTest::worker_ = nullptr;
model::Model* WorkerGenerateTest::model_ = nullptr;

struct Case {
  float temperature;
  int32_t top_k;
  float top_p;
  float min_p;
  float repetition_penalty;
  uint64_t seed;
};

v1::SamplingParams ToWire(const Case& c, int32_t max_tokens) {
  v1::SamplingParams p;
  p.set_temperature(c.temperature);
  p.set_top_k(c.top_k);
  p.set_top_p(c.top_p);
  p.set_min_p(c.min_p);
  p.set_repetition_penalty(c.repetition_penalty);
  p.set_seed(c.seed);
  p.set_max_tokens(max_tokens);
  return p;
}

generate::GenerateParams ToEngine(const Case& c, int32_t max_tokens) {
  return {.max_tokens = max_tokens,
          .sampling = {.temperature = c.temperature, .top_k = c.top_k, .top_p = c.top_p,
                       .min_p = c.min_p, .repetition_penalty = c.repetition_penalty,
                       .seed = c.seed}};
}

const Case kCases[] = {{0.0f, 0, 1.0f, 0.0f, 1.0f, 1},
                       {0.8f, 40, 0.95f, 0.05f, 1.0f, 7},
                       {1.1f, 0, 0.9f, 0.0f, 1.15f, 123}};

TEST_F(WorkerGenerateTest, StreamsTheEngineGeneratorsTokens) {
  const std::string prompt = "Once upon a time there was";
  constexpr int32_t kMaxTokens = 40;
  for (const Case& c : kCases) {
    SCOPED_TRACE("temperature " + std::to_string(c.temperature) + " seed " +
                 std::to_string(c.seed));
    std::string engine_text;
    const generate::GenerateStats engine =
        EngineGenerate(prompt, ToEngine(c, kMaxTokens), &engine_text);
    ASSERT_FALSE(engine.tokens.empty());

    // Append, then Generate.
    const std::string id = OpenSession(*stub_);
    ASSERT_FALSE(id.empty());
    v1::AppendResponse appended;
    ASSERT_TRUE(AppendText(*stub_, id, prompt, &appended).ok());
    EXPECT_EQ(appended.n_tokens_added(), engine.n_prompt_tokens);
    v1::GenerateRequest request;
    request.set_session_id(id);
    *request.mutable_sampling() = ToWire(c, kMaxTokens);
    Stream s = Generate(*stub_, request);
    ASSERT_TRUE(s.status.ok()) << s.status.error_message();
    EXPECT_EQ(s.ids, engine.tokens);
    // The tiny model emits stray bytes; the wire carries them as U+FFFD (utf8.h).
    EXPECT_EQ(s.text, server::worker::ValidUtf8(engine_text));
    ASSERT_TRUE(s.has_summary);
    EXPECT_EQ(s.summary.n_generated_tokens(), engine.n_generated_tokens);
    EXPECT_EQ(s.summary.seed(), c.seed);
    EXPECT_EQ(s.summary.stop_reason(),
              engine.stop_reason == generate::StopReason::kMaxTokens ? v1::STOP_REASON_MAX_TOKENS
                                                                     : v1::STOP_REASON_EOS);
    EXPECT_EQ(s.summary.cache().n_past(), engine.n_prompt_tokens + engine.n_generated_tokens - 1);
    EXPECT_TRUE(CloseSession(*stub_, id).ok());

    // The prompt sent with the Generate call.
    const std::string id2 = OpenSession(*stub_);
    request.set_session_id(id2);
    request.set_text(prompt);
    Stream s2 = Generate(*stub_, request);
    ASSERT_TRUE(s2.status.ok()) << s2.status.error_message();
    EXPECT_EQ(s2.ids, engine.tokens);
    EXPECT_EQ(s2.summary.n_prompt_tokens(), engine.n_prompt_tokens);
    EXPECT_TRUE(CloseSession(*stub_, id2).ok());
  }
}

TEST_F(WorkerGenerateTest, ConcurrentStreamsEqualStreamsRunAlone) {
  const std::string prompts[] = {"The cat", "In a land far away, a king", "Numbers: 1 2 3 4"};
  constexpr int32_t kMaxTokens = 60;
  Stream streams[3];
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      v1::GenerateRequest request;
      request.set_session_id(OpenSession(*stub_));
      request.set_text(prompts[i]);
      *request.mutable_sampling() = ToWire(kCases[i], kMaxTokens);
      streams[i] = Generate(*stub_, request);
      CloseSession(*stub_, request.session_id());
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(streams[i].status.ok()) << streams[i].status.error_message();
    std::string engine_text;
    const auto engine = EngineGenerate(prompts[i], ToEngine(kCases[i], kMaxTokens), &engine_text);
    EXPECT_EQ(streams[i].ids, engine.tokens) << "stream " << i;
    EXPECT_EQ(streams[i].text, server::worker::ValidUtf8(engine_text)) << "stream " << i;
  }
}

TEST_F(WorkerGenerateTest, LogprobsDescribeTheSampledTokens) {
  v1::GenerateRequest request;
  request.set_session_id(OpenSession(*stub_));
  request.set_text("A short test");
  request.mutable_sampling()->set_max_tokens(12);  // greedy
  request.set_logprobs(true);
  request.set_top_logprobs(3);
  Stream s = Generate(*stub_, request);
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  size_t n_tokens = 0;
  for (const v1::GeneratedTokens& m : s.messages) {
    ASSERT_EQ(m.logprobs_size(), m.token_ids_size());
    ASSERT_EQ(m.top_logprobs_size(), 3 * m.token_ids_size());
    for (int t = 0; t < m.token_ids_size(); ++t, ++n_tokens) {
      const v1::TokenLogprob& chosen = m.logprobs(t);
      EXPECT_EQ(chosen.token_id(), m.token_ids(t));
      EXPECT_LE(chosen.logprob(), 0.0f);
      // Greedy: the sampled token is the most likely one.
      const v1::TokenLogprob& top0 = m.top_logprobs(3 * t);
      EXPECT_EQ(top0.token_id(), chosen.token_id());
      EXPECT_FLOAT_EQ(top0.logprob(), chosen.logprob());
      double mass = 0;
      for (int k = 0; k < 3; ++k) {
        const float lp = m.top_logprobs(3 * t + k).logprob();
        if (k > 0) {
          EXPECT_LE(lp, m.top_logprobs(3 * t + k - 1).logprob());
        }
        mass += std::exp(static_cast<double>(lp));
      }
      EXPECT_LE(mass, 1.0 + 1e-5);
      EXPECT_FALSE(chosen.piece().empty());
    }
  }
  EXPECT_EQ(n_tokens, s.ids.size());
  EXPECT_EQ(n_tokens, 12u);
}

TEST_F(WorkerGenerateTest, TranscriptHoldsPromptAndReply) {
  const std::string id = OpenSession(*stub_);
  v1::AppendResponse appended;
  ASSERT_TRUE(AppendText(*stub_, id, "Once upon a time", &appended).ok());
  v1::GenerateRequest request;
  request.set_session_id(id);
  request.mutable_sampling()->set_max_tokens(10);
  request.mutable_sampling()->set_temperature(0.7f);
  request.mutable_sampling()->set_seed(5);
  Stream s = Generate(*stub_, request);
  ASSERT_TRUE(s.status.ok());
  v1::GetTranscriptRequest tr;
  tr.set_session_id(id);
  v1::GetTranscriptResponse transcript;
  ASSERT_TRUE(stub_->GetTranscript(Context().get(), tr, &transcript).ok());
  EXPECT_EQ(transcript.text(), "Once upon a time" + s.text);
  EXPECT_EQ(transcript.n_tokens(), appended.n_tokens_added() + static_cast<int64_t>(s.ids.size()));
  EXPECT_EQ(transcript.messages_size(), 0) << "no chat turns were appended";
  EXPECT_TRUE(CloseSession(*stub_, id).ok());
}

TEST_F(WorkerGenerateTest, ChatTurnsAppendOneAtATime) {
  const std::string id = OpenSession(*stub_);
  v1::AppendRequest first;
  first.set_session_id(id);
  auto* user = first.mutable_messages()->add_messages();
  user->set_role("user");
  user->set_content("Hi there");
  v1::AppendResponse r1;
  ASSERT_TRUE(stub_->Append(Context().get(), first, &r1).ok());
  // The worker's rendering is the Gemma 3 template, tokenized with its BOS.
  const std::vector<generate::ChatMessage> turn1 = {{"user", "Hi there"}};
  const auto text1 = generate::FormatChat(generate::ChatFamily::kGemma3, turn1);
  ASSERT_TRUE(text1.ok());
  const auto ids1 = model_->tokenizer().Encode(*text1, {.add_bos = false, .parse_special = true});
  EXPECT_EQ(r1.n_tokens_added(), static_cast<int64_t>(ids1.size()));
  ASSERT_EQ(ids1.front(), model_->tokenizer().bos());

  v1::GenerateRequest gen;
  gen.set_session_id(id);
  gen.mutable_sampling()->set_max_tokens(6);
  Stream reply = Generate(*stub_, gen);
  ASSERT_TRUE(reply.status.ok());

  // The second turn drops the template's BOS: the session already started.
  v1::AppendRequest second = first;
  second.mutable_messages()->mutable_messages(0)->set_content("Tell me more");
  v1::AppendResponse r2;
  ASSERT_TRUE(stub_->Append(Context().get(), second, &r2).ok());
  const std::vector<generate::ChatMessage> turn2 = {{"user", "Tell me more"}};
  const auto ids2 = model_->tokenizer().Encode(*generate::FormatChat(generate::ChatFamily::kGemma3, turn2),
                                               {.add_bos = false, .parse_special = true});
  EXPECT_EQ(r2.n_tokens_added(), static_cast<int64_t>(ids2.size()) - 1);

  v1::GetTranscriptRequest tr;
  tr.set_session_id(id);
  v1::GetTranscriptResponse transcript;
  ASSERT_TRUE(stub_->GetTranscript(Context().get(), tr, &transcript).ok());
  ASSERT_EQ(transcript.messages_size(), 3);
  EXPECT_EQ(transcript.messages(0).role(), "user");
  EXPECT_EQ(transcript.messages(1).role(), "assistant");
  EXPECT_EQ(transcript.messages(1).content(), reply.text);
  EXPECT_EQ(transcript.messages(2).content(), "Tell me more");
  EXPECT_THAT(transcript.text(), ::testing::HasSubstr("<start_of_turn>user\nHi there<end_of_turn>"));
  EXPECT_TRUE(CloseSession(*stub_, id).ok());
}

}  // namespace
}  // namespace cachewire::testing
