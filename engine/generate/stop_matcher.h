// Stop strings in streamed text: text arrives in pieces (one per decoded token) and a stop
// string may straddle pieces, so the tail that could still grow into a stop string is held back
// until the next piece shows whether it does. Text before a matched stop string is released; the
// stop string and anything after it are not.
//
//   StopMatcher m({"</s>", "\n\n"});
//   std::string out = m.Push("Hello</");   // "Hello" ("</" is held back)
//   out = m.Push("s> more");               // "" and m.stopped() == true, m.matched() == "</s>"
//   out = m.Flush();                       // at the end of the stream: whatever is held back
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cachewire::generate {

class StopMatcher {
 public:
  // Empty stop strings are ignored (the generator rejects them earlier).
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends `text` and returns the part that is now final. After a match, returns the text
  // before the stop string, sets stopped() and ignores further input.
  std::string Push(std::string_view text);
  // Releases the held-back tail (the stream ended, so it was not a stop string after all).
  std::string Flush();

  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string that matched
  size_t held_bytes() const { return held_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;     // text not yet released: a possible beginning of a stop string
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace cachewire::generate
