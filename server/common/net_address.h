// "host:port" addresses as the daemons' flags give them: IPv4 "127.0.0.1:0", a name
// "localhost:50051", or IPv6 in brackets "[::1]:0". Port 0 asks the OS for a free port; the
// daemon then prints the port it got.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cachewire::server {

struct HostPort {
  std::string host;  // without brackets
  int port = 0;      // 0 .. 65535
};

// InvalidArgument naming the address when it has no port, a bad port or an empty host.
absl::StatusOr<HostPort> SplitHostPort(std::string_view address);
// Brackets an IPv6 host again: JoinHostPort("::1", 80) == "[::1]:80".
std::string JoinHostPort(std::string_view host, int port);

}  // namespace cachewire::server
