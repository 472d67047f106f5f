// What a run must undo when it dies by a signal it cannot turn into an exception. A shard that is
// truncated while memory-mapped raises SIGBUS on the next read of a vanished page; a C++ exception
// cannot be thrown from there. The handler names the file the faulting address belongs to, removes
// the run's temporary outputs and exits with 3 (bad input).
//   Both tables are fixed arrays filled under a mutex and read by the handler without locks.
#pragma once

#include <cstddef>
#include <string>

namespace enwanda {

// A memory-mapped input `[base, base + size)` read from `path` (safetensors_reader.cpp).
void register_mapping(const void* base, size_t size, const std::string& path);
void unregister_mapping(const void* base);

// A temporary output (file or directory) removed if the run dies by SIGBUS.
void register_temporary(const std::string& path);
void unregister_temporary(const std::string& path);

// Installs the SIGBUS handler (main, beside the interrupt handlers).
void install_bus_error_handler();

// Whether the process `pid` that left a temporary is gone: no such process, or a zombie (state Z in
// /proc/PID/stat: it has exited and only waits to be reaped, which can take its parent seconds).
// False when it runs, or when it exists but is not ours to signal (EPERM): its files are left alone.
bool process_is_gone(long pid);

}  // namespace enwanda
