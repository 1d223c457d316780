// The router's config file: the documented format parses, relative paths resolve against the
// file's directory, and each malformed input is refused with a message naming the field.
// Adapter names come from the adapter files unless configured, and a file that is not an
// adapter of its kind is refused naming the field and the file.
#include "server/router/router_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "server/router/adapter_files.h"

namespace cachewire::router {
namespace {

using ::testing::HasSubstr;

TEST(RouterConfigTest, ParsesAgentsAdaptersAndRouterDefaults) {
  auto config = ParseRouterConfig(R"(
router:
  listen: 127.0.0.1:7070
  metrics: 127.0.0.1:9090
agents:
  - name: planner
    worker: 127.0.0.1:7101
    model: ../models/a.gguf
    threads: 2
    device: cuda
    cache:
      bounded: true
      budget: 448
      window: 256
  - name: coder
    worker: coder-worker:7100
    model: /abs/b.gguf
adapters:
  - sharer: planner
    receiver: coder
    kind: c2c
    file: adapters/p-c.gguf
  - sharer: planner
    receiver: coder
    file: adapters/p-c.lcf.gguf
    name: planner-coder
)",
                                  "/etc/cachewire/deploy/local.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:7070");
  EXPECT_EQ(config->metrics, "127.0.0.1:9090");
  ASSERT_EQ(config->agents.size(), 2u);
  EXPECT_EQ(config->agents[0].name, "planner");
  EXPECT_EQ(config->agents[0].model, "/etc/cachewire/models/a.gguf");
  EXPECT_EQ(config->agents[0].threads, 2);
  EXPECT_EQ(config->agents[0].device, "cuda");
  EXPECT_EQ(config->agents[1].device, "");
  EXPECT_EQ(config->agents[0].cache.bounded, true);
  EXPECT_EQ(config->agents[0].cache.budget, 448);
  EXPECT_EQ(config->agents[0].cache.window, 256);
  EXPECT_FALSE(config->agents[0].cache.slack.has_value());
  EXPECT_FALSE(config->agents[1].cache.bounded.has_value());
  EXPECT_EQ(config->agents[1].worker, "coder-worker:7100");
  EXPECT_EQ(config->agents[1].model, "/abs/b.gguf");
  ASSERT_EQ(config->adapters.size(), 2u);
  EXPECT_EQ(config->adapters[0].kind, AdapterKind::kC2c);
  EXPECT_EQ(config->adapters[0].file, "/etc/cachewire/deploy/adapters/p-c.gguf");
  EXPECT_EQ(config->adapters[0].name, "");  // read from the file later (adapter_files.h)
  EXPECT_EQ(config->adapters[1].kind, AdapterKind::kLcf);  // the default kind
  EXPECT_EQ(config->adapters[1].name, "planner-coder");
  EXPECT_NE(config->FindAdapter("planner", "coder", AdapterKind::kC2c), nullptr);
  EXPECT_EQ(config->FindAdapter("planner", "coder", AdapterKind::kLcf), &config->adapters[1]);
  EXPECT_EQ(config->FindAdapter("coder", "planner", AdapterKind::kC2c), nullptr);
}

TEST(RouterConfigTest, EachMalformedInputNamesItsField) {
  const struct {
    const char* yaml;
    const char* field;
  } cases[] = {
      {"agents: []", "agents"},
      {"[1, 2]", "(top level)"},
      {"agents:\n  - worker: a:1\n", "agents[0].name: missing"},
      {"agents:\n  - name: a\n", "agents[0].worker: missing"},
      {"agents:\n  - name: 'bad name'\n    worker: a:1\n", "agents[0].name"},
      {"agents:\n  - name: a\n    worker: nohost\n", "agents[0].worker"},
      {"agents:\n  - name: a\n    worker: h:70000\n", "agents[0].worker: port"},
      {"agents:\n  - name: a\n    worker: h:1\n  - name: a\n    worker: h:2\n",
       "agents[1].name: 'a' appears twice"},
      {"agents:\n  - name: a\n    worker: h:1\n    threads: many\n", "agents[0].threads"},
      {"agents:\n  - name: a\n    worker: h:1\n    threads: -1\n", "agents[0].threads"},
      {"agents:\n  - name: a\n    worker: h:1\n    device: gpu\n", "agents[0].device"},
      {"agents:\n  - name: a\n    worker: [1]\n", "agents[0].worker: must be a string"},
      {"agents:\n  - name: a\n    worker: h:1\nadapters:\n  - sharer: a\n    receiver: b\n"
       "    file: f\n",
       "adapters[0].receiver: no agent named 'b'"},
      {"agents:\n  - name: a\n    worker: h:1\nadapters:\n  - sharer: a\n    receiver: a\n"
       "    kind: magic\n    file: f\n",
       "adapters[0].kind"},
      {"agents:\n  - name: a\n    worker: h:1\nadapters:\n  - sharer: a\n    receiver: a\n",
       "adapters[0].file: missing"},
      {"agents:\n  - name: a\n    worker: h:1\n    cache: 5\n", "agents[0].cache: must be a"},
      {"agents:\n  - name: a\n    worker: h:1\n    cache:\n      size: 3\n",
       "agents[0].cache.size: unknown"},
      {"agents:\n  - name: a\n    worker: h:1\n    cache:\n      budget: lots\n",
       "agents[0].cache.budget: must be an integer"},
      {"agents:\n  - name: a\n    worker: h:1\n    cache:\n      window: -2\n",
       "agents[0].cache.window: must be >= 0"},
      {"agents:\n  - name: a\n    worker: h:1\n    cache:\n      bounded: maybe\n",
       "agents[0].cache.bounded: must be true or false"},
      {"agents: [unclosed", "line"},
  };
  for (const auto& c : cases) {
    auto config = ParseRouterConfig(c.yaml, "x.yaml");
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(config.status().message(), HasSubstr("x.yaml: ")) << c.yaml;
    EXPECT_THAT(config.status().message(), HasSubstr(c.field)) << c.yaml;
  }
}

TEST(RouterConfigTest, MissingFileIsNotFoundNamingIt) {
  auto config = LoadRouterConfig("/nonexistent/router.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/router.yaml"));
}

TEST(RouterConfigTest, WorkerOverrideReplacesTheAddressOfOneAgent) {
  auto config = ParseRouterConfig("agents:\n  - name: a\n    worker: 127.0.0.1:0\n", "x.yaml");
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(OverrideWorkerAddress(*config, "a", "127.0.0.1:5000").ok());
  EXPECT_EQ(config->agents[0].worker, "127.0.0.1:5000");
  EXPECT_EQ(OverrideWorkerAddress(*config, "b", "127.0.0.1:5000").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(OverrideWorkerAddress(*config, "a", "no-port").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RouterConfigTest, ShippedComposeConfigLoads) {
  auto config = LoadRouterConfig(CACHEWIRE_SOURCE_DIR "/deploy/compose-router.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->agents.size(), 2u);
  EXPECT_EQ(config->agents[0].worker, "worker-planner:7100");
  EXPECT_EQ(config->listen, "0.0.0.0:7070");
}

TEST(RouterConfigTest, ShippedLocalDemoConfigLoads) {
  auto config = LoadRouterConfig(CACHEWIRE_SOURCE_DIR "/deploy/local.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->agents.size(), 2u);
  for (const AgentConfig& agent : config->agents) {
    EXPECT_EQ(access(agent.model.c_str(), R_OK), 0) << agent.model;
    // Receivers of LCF handoffs need a bounded cache, and one that fits the models' 512
    // positions (budget + slack; the worker refuses more).
    EXPECT_EQ(agent.cache.bounded, true) << agent.name;
    EXPECT_LE(agent.cache.budget.value_or(1 << 30) + agent.cache.slack.value_or(128), 512)
        << agent.name;
  }
}

}  // namespace
}  // namespace cachewire::router

namespace cachewire::router {
namespace {

const std::string kAdapterDir = CACHEWIRE_SOURCE_DIR "/tests/data/adapters/";

RouterConfig TwoAgents(std::vector<AdapterConfig> adapters) {
  RouterConfig config;
  config.path = "x.yaml";
  config.agents = {{"a", "h:1", "", 0}, {"b", "h:2", "", 0}};
  config.adapters = std::move(adapters);
  return config;
}

TEST(AdapterFilesTest, NamesAreReadFromTheFilesUnlessConfigured) {
  RouterConfig config = TwoAgents(
      {{"a", "b", AdapterKind::kLcf, kAdapterDir + "cw-llama--cw-gemma3.random.lcf.gguf"},
       {"b", "a", AdapterKind::kLcf, "/not/read.gguf", "configured"}});
  ASSERT_TRUE(ReadAdapterNames(config).ok());
  EXPECT_EQ(config.adapters[0].name, "cw-llama--cw-gemma3.random");
  EXPECT_EQ(config.adapters[1].name, "configured");
}

TEST(AdapterFilesTest, EachProblemNamesTheFieldAndTheFile) {
  const std::string lcf = kAdapterDir + "cw-llama--cw-gemma3.random.lcf.gguf";
  const std::string model = CACHEWIRE_SOURCE_DIR "/models/cw-llama.gguf";
  const struct {
    std::vector<AdapterConfig> adapters;
    std::string message;
  } cases[] = {
      {{{"a", "b", AdapterKind::kLcf, "/nonexistent.gguf"}},
       "x.yaml: adapters[0].file: /nonexistent.gguf"},
      {{{"a", "b", AdapterKind::kC2c, lcf}}, "not cachewire.c2c"},
      {{{"a", "b", AdapterKind::kLcf, model}}, "'llama', not cachewire.lcf"},
      {{{"a", "b", AdapterKind::kLcf, lcf},
        {"b", "a", AdapterKind::kLcf, "/x", "cw-llama--cw-gemma3.random"}},
       "adapters[1].name: 'cw-llama--cw-gemma3.random' is also the name of adapters[0]"},
  };
  for (const auto& c : cases) {
    RouterConfig config = TwoAgents(c.adapters);
    const absl::Status status = ReadAdapterNames(config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace cachewire::router
