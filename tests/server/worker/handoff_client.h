// Client-side helpers of the worker's handoff tests (LCF and C2C): sessions with a cache
// policy, an export stream read whole, chunks streamed into an import, and a greedy answer
// with its log-probabilities to tell whether a handoff changed what the receiver generates.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "tests/server/worker/worker_client.h"
#include "tests/server/worker/worker_process.h"

namespace cachewire::testing {

#define EXPECT_STATUS(call, code, text)                                          \
  do {                                                                           \
    const grpc::Status st_ = (call);                                             \
    EXPECT_EQ(st_.error_code(), grpc::StatusCode::code) << st_.error_message();  \
    EXPECT_THAT(st_.error_message(), ::testing::HasSubstr(text));                \
  } while (0)

// A stub on a started worker.
inline std::unique_ptr<v1::Worker::Stub> StubOn(const WorkerProcess& worker) {
  return v1::Worker::NewStub(
      grpc::CreateChannel(worker.grpc_address(), grpc::InsecureChannelCredentials()));
}

inline std::string OpenWithPolicy(v1::Worker::Stub& stub, const v1::CachePolicy* policy) {
  v1::OpenSessionRequest request;
  if (policy != nullptr) *request.mutable_cache_policy() = *policy;
  v1::OpenSessionResponse response;
  const grpc::Status st = stub.OpenSession(Context().get(), request, &response);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return response.session_id();
}

// One session's figures (Stats); empty when the call fails.
inline v1::SessionStats StatsOf(v1::Worker::Stub& stub, const std::string& session) {
  v1::StatsRequest request;
  request.set_session_id(session);
  v1::StatsResponse stats;
  const grpc::Status st = stub.Stats(Context().get(), request, &stats);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return stats.sessions_size() == 1 ? stats.sessions(0) : v1::SessionStats();
}

template <typename Chunk>
struct Exported {
  std::vector<Chunk> chunks;
  grpc::Status status;
};

// Reads the whole stream `open(context)` returns (ExportSummary, ExportCache).
template <typename Chunk, typename Open>
Exported<Chunk> ReadChunks(Open open) {
  auto ctx = Context();
  std::unique_ptr<grpc::ClientReader<Chunk>> reader = open(ctx.get());
  Exported<Chunk> out;
  Chunk chunk;
  while (reader->Read(&chunk)) out.chunks.push_back(chunk);
  out.status = reader->Finish();
  return out;
}

struct ImportOptions {
  bool writes_done = true;  // false: cancel the call after the writes instead
};

// Streams `chunks` into the stream `open(context, response)` returns (ImportSummary,
// FuseCache), naming `session` in the first, and returns the call's status.
template <typename Chunk, typename Response, typename Open>
grpc::Status WriteChunks(Open open, const std::string& session, std::vector<Chunk> chunks,
                         Response* response, ImportOptions options = {}) {
  auto ctx = Context();
  std::unique_ptr<grpc::ClientWriter<Chunk>> writer = open(ctx.get(), response);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i == 0) chunks[i].set_session_id(session);
    if (!writer->Write(chunks[i])) break;  // the worker has finished the call already
  }
  if (options.writes_done) {
    writer->WritesDone();
  } else {
    ctx->TryCancel();
  }
  return writer->Finish();
}

// A greedy answer, with each token's log-probability and the distribution of its first token.
struct Answer {
  std::vector<int32_t> ids;
  std::vector<float> logprobs;
  std::vector<float> first_top;  // the first step's kTopLogprobs largest log-probabilities
};

inline constexpr int32_t kTopLogprobs = 5;

// Largest change of a log-probability: of a token (over the tokens both answers have), or of
// the first step's most likely ones.
inline float MaxLogprobChange(const Answer& a, const Answer& b) {
  float change = 0;
  const auto compare = [&](const std::vector<float>& x, const std::vector<float>& y) {
    for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
      change = std::max(change, std::fabs(x[i] - y[i]));
    }
  };
  compare(a.logprobs, b.logprobs);
  compare(a.first_top, b.first_top);
  return change;
}

// A session that no handoff changed answers exactly as the baseline (the engine is
// deterministic: same context, greedy, same threads).
inline void ExpectSameAnswer(const Answer& a, const Answer& baseline) {
  EXPECT_EQ(a.ids, baseline.ids);
  ASSERT_EQ(a.logprobs.size(), baseline.logprobs.size());
  for (size_t i = 0; i < a.logprobs.size(); ++i) {
    EXPECT_FLOAT_EQ(a.logprobs[i], baseline.logprobs[i]) << "token " << i;
  }
  ASSERT_EQ(a.first_top.size(), baseline.first_top.size());
  for (size_t i = 0; i < a.first_top.size(); ++i) {
    EXPECT_FLOAT_EQ(a.first_top[i], baseline.first_top[i]) << "first step, rank " << i;
  }
}

// Appends `question` to the session and answers it greedily (max_tokens tokens).
inline Answer Ask(v1::Worker::Stub& stub, const std::string& session, const std::string& question,
                  int32_t max_tokens = 12) {
  v1::GenerateRequest request;
  request.set_session_id(session);
  request.set_text(question);
  request.set_logprobs(true);
  request.set_top_logprobs(kTopLogprobs);
  request.mutable_sampling()->set_max_tokens(max_tokens);
  request.mutable_sampling()->set_temperature(0);
  const Stream s = Generate(stub, request);
  EXPECT_TRUE(s.status.ok()) << s.status.error_message();
  Answer a;
  a.ids = s.ids;
  for (const v1::GeneratedTokens& m : s.messages) {
    for (const v1::TokenLogprob& lp : m.logprobs()) a.logprobs.push_back(lp.logprob());
    for (const v1::TokenLogprob& lp : m.top_logprobs()) {
      if (a.first_top.size() < static_cast<size_t>(kTopLogprobs)) {
        a.first_top.push_back(lp.logprob());
      }
    }
  }
  EXPECT_EQ(a.logprobs.size(), a.ids.size());
  EXPECT_EQ(a.first_top.size(), a.ids.empty() ? 0u : static_cast<size_t>(kTopLogprobs));
  return a;
}

}  // namespace cachewire::testing
