#include "enwanda/io/crash_cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>

#include "enwanda/io/output_directory.h"

namespace enwanda {

namespace {
constexpr size_t kSlots = 256;
constexpr size_t kPathMax = 4096;

struct Slot {
  std::atomic<uintptr_t> key{0};  // the mapping's base address, or 1 for a temporary; 0: free
  size_t size = 0;
  char path[kPathMax] = {};
};
Slot g_mappings[kSlots];
Slot g_temporaries[kSlots];
std::mutex g_mutex;

void put(Slot* table, uintptr_t key, size_t size, const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (size_t i = 0; i < kSlots; ++i) {
    if (table[i].key.load() != 0) continue;
    table[i].size = size;
    std::strncpy(table[i].path, path.c_str(), kPathMax - 1);
    table[i].path[kPathMax - 1] = '\0';
    table[i].key.store(key);
    return;
  }  // full: the file is simply not named (or not removed) after a SIGBUS
}

void write_stderr(const char* s) {
  for (size_t n = std::strlen(s); n > 0;) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

extern "C" void on_bus_error(int, siginfo_t* info, void*) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const char* file = nullptr;
  for (auto& m : g_mappings) {
    const uintptr_t base = m.key.load();
    if (base != 0 && addr >= base && addr - base < m.size) file = m.path;
  }
  write_stderr("enwanda: error: ");
  if (file) {
    write_stderr(file);
    write_stderr(" was truncated or rewritten while enwanda read it; let the program that writes it finish, then run "
                 "again; partial output removed\n");
  } else {
    write_stderr("a file was truncated while enwanda read it (SIGBUS); partial output removed\n");
  }
  // remove_tree is not async-signal-safe; the process ends here either way, and a SIGBUS comes
  // from a read of mapped memory, not from inside the allocator
  for (auto& t : g_temporaries)
    if (t.key.load() != 0) remove_tree(t.path);
  ::_exit(3);  // ExitCode::bad_input
}
}  // namespace

void register_mapping(const void* base, size_t size, const std::string& path) {
  put(g_mappings, reinterpret_cast<uintptr_t>(base), size, path);
}

void unregister_mapping(const void* base) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& m : g_mappings)
    if (m.key.load() == reinterpret_cast<uintptr_t>(base)) m.key.store(0);
}

void register_temporary(const std::string& path) { put(g_temporaries, 1, 0, path); }

void unregister_temporary(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& t : g_temporaries)
    if (t.key.load() != 0 && path == t.path) {
      t.key.store(0);
      return;
    }
}

bool process_is_gone(long pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
  // /proc/PID/stat: "PID (COMM) STATE ...", COMM may hold spaces and parentheses: the state follows
  // the last ')' (proc(5))
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return false;
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

void install_bus_error_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = on_bus_error;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, nullptr);
}

}  // namespace enwanda
