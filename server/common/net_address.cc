// Parsing and printing "host:port" (see net_address.h).
#include "server/common/net_address.h"

#include <charconv>

#include "absl/status/status.h"

namespace cachewire::server {

absl::StatusOr<HostPort> SplitHostPort(std::string_view address) {
  const std::string quoted = "address \"" + std::string(address) + "\"";
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(quoted + ": expected host:port");
  }
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return absl::InvalidArgumentError(quoted + ": an IPv6 host needs brackets, [::1]:port");
  }
  if (host.empty()) return absl::InvalidArgumentError(quoted + ": empty host");
  int port = -1;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(),
                                         port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(quoted + ": port must be a number in [0, 65535]");
  }
  return HostPort{std::string(host), port};
}

std::string JoinHostPort(std::string_view host, int port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out += '[';
  out.append(host.data(), host.size());
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace cachewire::server
