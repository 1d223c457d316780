// Text leaving the worker in proto3 `string` fields must be valid UTF-8 (a receiver's parser
// rejects anything else). A model may emit bytes that never complete a character; they are
// replaced by U+FFFD here, one per invalid byte, as decoders commonly do.
#pragma once

#include <string>
#include <string_view>

namespace cachewire::server::worker {

std::string ValidUtf8(std::string_view bytes);

}  // namespace cachewire::server::worker
