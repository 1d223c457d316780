// LoadCudaPlugin: dlopen with an explicit search path; see cuda_loader.h.
#include "engine/backend/cuda_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <vector>

#include "absl/status/status.h"

namespace cachewire::backend {
namespace {

constexpr const char* kPluginName = "libcachewire_cuda.so";

std::string ExecutableDir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

absl::StatusOr<CudaPlugin> Load() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("CACHEWIRE_CUDA_PLUGIN"); env != nullptr && *env != '\0') {
    candidates.push_back(env);
  } else {
    const std::string dir = ExecutableDir();
    candidates.push_back(dir + "/" + kPluginName);
    candidates.push_back(dir + "/../lib/" + kPluginName);
  }
  std::string tried;
  for (const std::string& path : candidates) {
    if (access(path.c_str(), R_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    // RTLD_LOCAL keeps CUDA's symbols out of the global namespace of the executable.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      return absl::FailedPreconditionError(path + ": cannot load CUDA plugin: " + dlerror());
    }
    auto entry = reinterpret_cast<CwCudaApiFn>(dlsym(handle, "cachewire_cuda_api"));
    if (entry == nullptr) {
      return absl::FailedPreconditionError(path + ": no symbol cachewire_cuda_api");
    }
    const CwCudaApi* api = entry();
    if (api == nullptr || api->abi_version != CACHEWIRE_CUDA_ABI_VERSION) {
      return absl::FailedPreconditionError(path + ": CUDA plugin ABI version mismatch");
    }
    return CudaPlugin{api, path};
  }
  return absl::NotFoundError("CUDA plugin not built or not found (looked at " + tried + ")");
}

}  // namespace

absl::StatusOr<CudaPlugin> LoadCudaPlugin() {
  static const absl::StatusOr<CudaPlugin> plugin = Load();
  return plugin;
}

absl::StatusOr<CudaPlugin> CudaDeviceOrReason() {
  absl::StatusOr<CudaPlugin> plugin = LoadCudaPlugin();
  if (!plugin.ok()) return absl::UnavailableError(std::string(plugin.status().message()));
  int count = 0;
  char err[256] = {0};
  if (plugin->api->device_count(&count, err, sizeof(err)) != 0 || count == 0) {
    return absl::UnavailableError(std::string("no CUDA device: ") +
                                  (err[0] != '\0' ? err : "the driver reports none"));
  }
  return plugin;
}

}  // namespace cachewire::backend
