// The handoff request checks that need no worker: every bad field is INVALID_ARGUMENT naming
// it, and LCF/C2C resolve their adapter from the config or fail naming the agent pair.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "server/router/handoff.h"

namespace cachewire::router {
namespace {

using ::testing::HasSubstr;

v1::HandoffRequest Valid() {
  v1::HandoffRequest request;
  request.set_from_session_id("s-a");
  request.set_to_session_id("s-b");
  request.set_mode(v1::HANDOFF_MODE_TEXT_CONTEXT);
  return request;
}

TEST(HandoffValidationTest, EachBadFieldIsNamed) {
  EXPECT_TRUE(ValidateHandoffRequest(Valid()).ok());
  struct Case {
    std::function<void(v1::HandoffRequest&)> mutate;
    const char* field;
  };
  const Case cases[] = {
      {[](auto& r) { r.clear_from_session_id(); }, "from_session_id"},
      {[](auto& r) { r.clear_to_session_id(); }, "to_session_id"},
      {[](auto& r) { r.set_to_session_id("s-a"); }, "to_session_id: must differ"},
      {[](auto& r) { r.set_mode(v1::HANDOFF_MODE_UNSPECIFIED); }, "mode"},
      {[](auto& r) { r.set_mode(static_cast<v1::HandoffMode>(42)); }, "mode"},
      {[](auto& r) { r.set_adapter("x.gguf"); }, "adapter"},
      {[](auto& r) { r.set_summary_max_tokens(-1); }, "summary_max_tokens"},
      {[](auto& r) { r.set_summary_max_tokens(100000); }, "summary_max_tokens"},
      {[](auto& r) { r.set_summary_prompt(std::string(5000, 'x')); }, "summary_prompt"},
  };
  for (const Case& c : cases) {
    v1::HandoffRequest request = Valid();
    c.mutate(request);
    const absl::Status status = ValidateHandoffRequest(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(status.message(), HasSubstr(c.field));
  }
}

TEST(HandoffValidationTest, AdapterModesNeedAConfiguredAdapter) {
  RouterConfig config;
  config.agents = {{"a", "h:1", "", 0}, {"b", "h:2", "", 0}};
  config.adapters = {{"a", "b", AdapterKind::kLcf, "/models/a-b.lcf.gguf", "a--b"}};
  v1::HandoffRequest request = Valid();
  request.set_mode(v1::HANDOFF_MODE_LCF);

  auto found = ResolveAdapter(request, config, "a", "b");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ((*found)->file, "/models/a-b.lcf.gguf");

  auto reverse = ResolveAdapter(request, config, "b", "a");
  EXPECT_EQ(reverse.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reverse.status().message(), HasSubstr("no adapter configured for agents b->a"));

  request.set_mode(v1::HANDOFF_MODE_C2C);
  EXPECT_EQ(ResolveAdapter(request, config, "a", "b").status().code(),
            absl::StatusCode::kFailedPrecondition);

  request.set_adapter("a-b.lcf.gguf");  // names the LCF adapter for a C2C handoff
  EXPECT_THAT(ResolveAdapter(request, config, "a", "b").status().message(),
              HasSubstr("serves agents a->b (lcf)"));
  request.set_mode(v1::HANDOFF_MODE_LCF);  // by its name, as by its file
  request.set_adapter("a--b");
  auto by_name = ResolveAdapter(request, config, "a", "b");
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_EQ((*by_name)->name, "a--b");
  request.set_adapter("a-b.lcf.gguf");
  EXPECT_TRUE(ResolveAdapter(request, config, "a", "b").ok());
  request.set_adapter("missing.gguf");
  EXPECT_EQ(ResolveAdapter(request, config, "a", "b").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cachewire::router
