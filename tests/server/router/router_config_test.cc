// The router's config file: the documented format parses, relative paths resolve against the
// file's directory, and each malformed input is refused with a message naming the field.
#include "server/router/router_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

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
  - name: coder
    worker: coder-worker:7100
    model: /abs/b.gguf
adapters:
  - sharer: planner
    receiver: coder
    kind: c2c
    file: adapters/p-c.gguf
)",
                                  "/etc/cachewire/deploy/local.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:7070");
  EXPECT_EQ(config->metrics, "127.0.0.1:9090");
  ASSERT_EQ(config->agents.size(), 2u);
  EXPECT_EQ(config->agents[0].name, "planner");
  EXPECT_EQ(config->agents[0].model, "/etc/cachewire/models/a.gguf");
  EXPECT_EQ(config->agents[0].threads, 2);
  EXPECT_EQ(config->agents[1].worker, "coder-worker:7100");
  EXPECT_EQ(config->agents[1].model, "/abs/b.gguf");
  ASSERT_EQ(config->adapters.size(), 1u);
  EXPECT_EQ(config->adapters[0].kind, AdapterKind::kC2c);
  EXPECT_EQ(config->adapters[0].file, "/etc/cachewire/deploy/adapters/p-c.gguf");
  EXPECT_NE(config->FindAdapter("planner", "coder", AdapterKind::kC2c), nullptr);
  EXPECT_EQ(config->FindAdapter("planner", "coder", AdapterKind::kLcf), nullptr);
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
      {"agents:\n  - name: a\n    worker: [1]\n", "agents[0].worker: must be a string"},
      {"agents:\n  - name: a\n    worker: h:1\nadapters:\n  - sharer: a\n    receiver: b\n"
       "    file: f\n",
       "adapters[0].receiver: no agent named 'b'"},
      {"agents:\n  - name: a\n    worker: h:1\nadapters:\n  - sharer: a\n    receiver: a\n"
       "    kind: magic\n    file: f\n",
       "adapters[0].kind"},
      {"agents:\n  - name: a\n    worker: h:1\nadapters:\n  - sharer: a\n    receiver: a\n",
       "adapters[0].file: missing"},
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
  }
}

}  // namespace
}  // namespace cachewire::router
