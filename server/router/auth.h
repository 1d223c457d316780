// Bearer-token authentication of the router's callers. Tokens come from a file (one per line;
// blank lines and lines starting with '#' are skipped); a caller sends
// `authorization: Bearer TOKEN` metadata. The identity of an authenticated caller is the
// token's index in the file: sessions record it and only that caller may use them.
// `--insecure-dev` builds an Authenticator that accepts every caller as one anonymous owner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cachewire::router {

// Who made a call: an index into the token list, or kAnonymous under --insecure-dev.
using CallerId = int32_t;
inline constexpr CallerId kAnonymous = -1;

class Authenticator {
 public:
  // NotFound naming the file when it cannot be read; InvalidArgument when it holds no token.
  static absl::StatusOr<Authenticator> FromTokenFile(const std::string& path);
  static Authenticator FromTokens(std::vector<std::string> tokens);
  static Authenticator Insecure();

  bool insecure() const { return insecure_; }

  // `authorization` is the metadata value (absent: nullopt). UNAUTHENTICATED naming the
  // `authorization` metadata when it is missing, not "Bearer ...", or an unknown token.
  absl::StatusOr<CallerId> Authenticate(std::optional<std::string_view> authorization) const;

 private:
  bool insecure_ = false;
  std::vector<std::string> tokens_;
};

// A fresh random token (32 hex characters, 128 bits from the system's CSPRNG), for
// `cachewire up`'s local token file.
std::string NewRandomToken();

}  // namespace cachewire::router
