// Token file loading and bearer-token checks (see auth.h). Tokens are compared in time that
// does not depend on where the first differing byte is, and every token is compared, so the
// response time does not tell a prober how much of a guess was right.
#include "server/router/auth.h"

#include <sys/random.h>

#include <cstdio>
#include <fstream>

#include "absl/status/status.h"

namespace cachewire::router {
namespace {

std::string Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return std::string();
  const size_t end = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(begin, end - begin + 1));
}

bool EqualConstantTime(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

absl::StatusOr<Authenticator> Authenticator::FromTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("token file " + path + ": cannot be read");
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    std::string token = Trim(line);
    if (token.empty() || token[0] == '#') continue;
    tokens.push_back(std::move(token));
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError("token file " + path + ": holds no token");
  }
  return FromTokens(std::move(tokens));
}

Authenticator Authenticator::FromTokens(std::vector<std::string> tokens) {
  Authenticator auth;
  auth.tokens_ = std::move(tokens);
  return auth;
}

Authenticator Authenticator::Insecure() {
  Authenticator auth;
  auth.insecure_ = true;
  return auth;
}

absl::StatusOr<CallerId> Authenticator::Authenticate(
    std::optional<std::string_view> authorization) const {
  if (insecure_) return kAnonymous;
  if (!authorization) {
    return absl::UnauthenticatedError("authorization metadata missing (Bearer token)");
  }
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization->size() <= kPrefix.size() ||
      authorization->substr(0, kPrefix.size()) != kPrefix) {
    return absl::UnauthenticatedError("authorization metadata is not 'Bearer TOKEN'");
  }
  const std::string presented = Trim(authorization->substr(kPrefix.size()));
  CallerId found = kAnonymous;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (EqualConstantTime(tokens_[i], presented)) found = static_cast<CallerId>(i);
  }
  if (found == kAnonymous) return absl::UnauthenticatedError("authorization: unknown token");
  return found;
}

std::string NewRandomToken() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string hex;
  char buf[3];
  for (unsigned char b : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    hex += buf;
  }
  return hex;
}

}  // namespace cachewire::router
