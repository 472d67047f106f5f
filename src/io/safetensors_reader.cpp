#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "enwanda/errors.h"
#include "enwanda/io/crash_cleanup.h"
#include "enwanda/io/safetensors.h"

namespace enwanda {

torch::ScalarType to_torch(Dtype d) {
  switch (d) {
    case Dtype::F32: return torch::kFloat32;
    case Dtype::F16: return torch::kFloat16;
    case Dtype::BF16: return torch::kBFloat16;
    case Dtype::F64: return torch::kFloat64;
    case Dtype::I64: return torch::kInt64;
    case Dtype::I32: return torch::kInt32;
    default: throw InputError("dtype " + dtype_name(d) + " is not readable as a tensor (only raw bytes)");
  }
}
Dtype from_torch(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return Dtype::F32;
    case torch::kFloat16: return Dtype::F16;
    case torch::kBFloat16: return Dtype::BF16;
    case torch::kFloat64: return Dtype::F64;
    case torch::kInt64: return Dtype::I64;
    case torch::kInt32: return Dtype::I32;
    default: throw InputError(std::string("no safetensors dtype for torch type ") + c10::toString(t));
  }
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw InputError(path + ": no such file");
    throw IoError(errno_message("cannot open " + path));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    throw IoError(errno_message("cannot stat " + path));
  }
  auto f = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw IoError(errno_message("cannot map " + path));
    }
    f->base_ = static_cast<const uint8_t*>(p);
    register_mapping(f->base_, f->size_, path);  // a truncation while mapped: SIGBUS, named (crash_cleanup.h)
  }
  ::close(fd);
  static const uint8_t empty[1] = {0};
  f->header_ = parse_safetensors_header(f->base_ ? f->base_ : empty, f->size_, f->size_, path);
  for (size_t i = 0; i < f->header_.tensors.size(); ++i) f->index_[f->header_.tensors[i].name] = i;
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (!base_) return;
  unregister_mapping(base_);
  munmap(const_cast<uint8_t*>(base_), size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

const TensorInfo& SafetensorsFile::at(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) throw InputError(path_ + ": tensor \"" + name + "\" not found");
  return *t;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& t = at(name);
  auto type = to_torch(t.dtype);
  auto opts = torch::TensorOptions().dtype(type);
  const uint8_t* p = data(t);
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(t.dtype) != 0) {
    // Misaligned for the element type: no zero-copy view, copy the bytes instead.
    auto out = torch::empty(t.shape, opts);
    std::memcpy(out.data_ptr(), p, t.nbytes());
    return out;
  }
  // Zero-copy over read-only pages; the deleter holds the mapping alive.
  auto self = shared_from_this();
  return torch::from_blob(const_cast<uint8_t*>(p), t.shape, [self](void*) {}, opts);
}

void SafetensorsFile::release(const std::string& name) const {
  const TensorInfo& t = at(name);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = reinterpret_cast<uintptr_t>(data(t));
  uintptr_t end = begin + t.nbytes();
  begin = (begin + page - 1) / page * page;  // whole pages inside the tensor only
  end = end / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void SafetensorsFile::prefetch(const std::string& name) const {
  const TensorInfo& t = at(name);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = reinterpret_cast<uintptr_t>(data(t)) / page * page;  // madvise wants an aligned start
  uintptr_t end = reinterpret_cast<uintptr_t>(data(t)) + t.nbytes();
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_WILLNEED);
}

}  // namespace enwanda
