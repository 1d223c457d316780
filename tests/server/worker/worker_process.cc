// WorkerProcess, RunWorkerToExit and FetchMetrics (see worker_process.h): fork/exec with a pipe
// on stdout, the listening line parsed with a poll() timeout, popen for a start that fails, and
// a minimal HTTP/1.0 client for /metrics.
#include "tests/server/worker/worker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

namespace cachewire::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string Field(const std::string& line, const std::string& key) {
  const size_t at = line.find(key + "=");
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size() + 1;
  const size_t end = line.find_first_of(" \n", begin);
  return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace

std::string WorkerBinary() { return std::string(CACHEWIRE_BINARY_DIR) + "/bin/cachewire-worker"; }

WorkerProcess::WorkerProcess(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error_ = "pipe2 failed";
    return;
  }
  std::vector<std::string> argv_s = {WorkerBinary(), "--listen", "127.0.0.1:0"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  // CACHEWIRE_TEST_WORKER_ARGS (words split at spaces) reruns a suite with other flags, e.g.
  // "--device cpu-twin" to serve through the device model (tests/server/worker/CMakeLists.txt).
  if (const char* extra = std::getenv("CACHEWIRE_TEST_WORKER_ARGS"); extra != nullptr) {
    std::istringstream words(extra);
    for (std::string w; words >> w;) argv_s.push_back(w);
  }
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  stdout_fd_ = fds[0];
  if (pid_ < 0) {
    error_ = "fork failed";
    return;
  }
  std::string line;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      error_ = "no listening line within 30 s; got: " + line;
      return;
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[256];
    const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) {
      error_ = "the worker exited before listening; stdout: " + line;
      return;
    }
    line.append(buf, static_cast<size_t>(n));
  }
  grpc_address_ = Field(line, "grpc");
  metrics_address_ = Field(line, "metrics");
  if (grpc_address_.empty()) error_ = "no grpc= in: " + line;
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void WorkerProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int WorkerProcess::Wait(double timeout_s) {
  if (pid_ <= 0) return -1;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1e3));
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (Clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string FetchMetrics(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) return "";
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

std::string RunWorkerToExit(const std::vector<std::string>& args, int* exit_code) {
  std::string command = WorkerBinary() + " --listen 127.0.0.1:0";
  for (const std::string& a : args) command += " " + a;
  command += " 2>&1";
  *exit_code = -1;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
  const int status = pclose(pipe);
  if (WIFEXITED(status)) *exit_code = WEXITSTATUS(status);
  return output;
}

}  // namespace cachewire::testing
