// Internal to engine/model: what every model kind reads from a GGUF before it places anything
// (the CPU model maps its weights, the device model uploads them), with the same checks and
// errors naming the file and the field.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/hparams.h"
#include "engine/model/weights.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::model {

struct ModelFile {
  std::unique_ptr<gguf::File> file;  // the mapping the weights view
  HParams hp;
  Weights weights;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
};

absl::StatusOr<ModelFile> OpenModelFile(const std::string& path);

}  // namespace cachewire::model
