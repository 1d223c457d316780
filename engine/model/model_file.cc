// OpenModelFile (model_file.h).
#include "engine/model/model_file.h"

#include "engine/common/status_macros.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::model {

absl::StatusOr<ModelFile> OpenModelFile(const std::string& path) {
  ModelFile m;
  CW_ASSIGN_OR_RETURN(m.file, gguf::File::Open(path));
  CW_ASSIGN_OR_RETURN(m.hp, LoadHParams(*m.file));
  CW_ASSIGN_OR_RETURN(m.weights, LoadWeights(*m.file, m.hp));
  absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> tok =
      tokenizer::Tokenizer::FromGguf(*m.file);
  if (!tok.ok()) {
    return absl::Status(tok.status().code(),
                        gguf::Cat(path, ": tokenizer: ", tok.status().message()));
  }
  m.tokenizer = std::move(*tok);
  return m;
}

}  // namespace cachewire::model
