// The router over TLS: with --tls-cert/--tls-key (a self-signed certificate made by the openssl
// command for this test) a client that trusts the certificate is served, a plaintext client is
// not. Skipped with a message when the openssl command is missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/server/router/router_fixture.h"

namespace cachewire::router::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(RouterTlsTest, ServesTlsClientsOnly) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the openssl command is not installed";
  }
  const std::string dir = ::testing::TempDir();
  const std::string key = dir + "/router_tls_key.pem";
  const std::string cert = dir + "/router_tls_cert.pem";
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " + key + " -out " + cert +
      " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  RouterDeployment deployment;
  deployment.UseTls(ReadFile(cert));
  const absl::Status started =
      deployment.Start({{"solo", kLlamaModel}}, {"--tls-cert", cert, "--tls-key", key});
  ASSERT_TRUE(started.ok()) << started;

  v1::ListAgentsResponse agents;
  auto context = RouterDeployment::Context(kTokenA);
  ASSERT_TRUE(deployment.router().ListAgents(context.get(), v1::ListAgentsRequest(), &agents).ok());
  EXPECT_EQ(agents.agents_size(), 1);

  auto plain = v1::Router::NewStub(
      grpc::CreateChannel(deployment.router_address(), grpc::InsecureChannelCredentials()));
  auto plain_context = RouterDeployment::Context(kTokenA);
  plain_context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  EXPECT_FALSE(plain->ListAgents(plain_context.get(), v1::ListAgentsRequest(), &agents).ok());
  std::remove(key.c_str());
  std::remove(cert.c_str());
}

}  // namespace
}  // namespace cachewire::router::testing
