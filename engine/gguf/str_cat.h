// Cat(): absl::StrCat that also takes std::string_view. Debian's Abseil does not alias
// absl::string_view to std::string_view (TOOLCHAIN.md pitfall 2), and this module's API speaks
// std::string_view, so error messages are built through this adapter.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cachewire::gguf {

template <typename T>
decltype(auto) CatArg(const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view> &&
                !std::is_convertible_v<const T&, absl::string_view>) {
    const std::string_view s(v);
    return absl::string_view(s.data(), s.size());
  } else {
    return (v);
  }
}

template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(CatArg(args)...);
}

}  // namespace cachewire::gguf
