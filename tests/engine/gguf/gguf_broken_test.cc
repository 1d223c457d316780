// The corpus of malformed files (tests/engine/gguf/broken/, made by
// tools/reference/make_broken_gguf.py): each must fail to open with InvalidArgument, and the
// message must name the file path plus the field and problem listed in broken/expected.txt.
// Run both through Open() (mmap) and FromBuffer() (copy) since they share the parser.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachewire::gguf {
namespace {

using ::testing::HasSubstr;

const std::string kBrokenDir = std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/gguf/broken/";

struct Case {
  std::string file;
  std::string expect;
};

std::vector<Case> LoadManifest() {
  std::vector<Case> cases;
  std::ifstream in(kBrokenDir + "expected.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    cases.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return cases;
}

TEST(GgufBroken, ManifestCoversEveryFile) {
  const std::vector<Case> cases = LoadManifest();
  ASSERT_GE(cases.size(), 30u);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kBrokenDir)) {
    if (entry.path().extension() == ".gguf") ++files;
  }
  EXPECT_EQ(files, cases.size());
}

TEST(GgufBroken, EachFileFailsWithItsMessage) {
  for (const Case& c : LoadManifest()) {
    SCOPED_TRACE(c.file);
    const std::string path = kBrokenDir + c.file;
    absl::StatusOr<std::unique_ptr<File>> f = File::Open(path);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << f.status();
    EXPECT_THAT(std::string(f.status().message()), HasSubstr(path + ": "));
    EXPECT_THAT(std::string(f.status().message()), HasSubstr(c.expect));

    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    absl::StatusOr<std::unique_ptr<File>> g = File::FromBuffer("buf:" + c.file, bytes);
    ASSERT_FALSE(g.ok());
    EXPECT_THAT(std::string(g.status().message()), HasSubstr("buf:" + c.file + ": "));
    EXPECT_THAT(std::string(g.status().message()), HasSubstr(c.expect));
  }
}

}  // namespace
}  // namespace cachewire::gguf
