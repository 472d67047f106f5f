// The exception-to-exit-code mapping: out-of-memory from libtorch (CPU or CUDA) becomes exit 5
// with advice to lower --batch-size; enwanda's own errors keep their codes.
#include <gtest/gtest.h>

#include <c10/util/Exception.h>

#include "enwanda/errors.h"

using namespace enwanda;

TEST(Errors, CudaOutOfMemorySuggestsBatchSize) {
  c10::Error oom(c10::SourceLocation{"f", "file.cpp", 1},
                 "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)\nmore lines");
  auto r = describe_exception(oom);
  EXPECT_EQ(r.code, ExitCode::out_of_memory);
  EXPECT_NE(r.message.find("--batch-size"), std::string::npos);
  EXPECT_EQ(r.message.find('\n'), std::string::npos) << "one line";
}

TEST(Errors, HostOutOfMemoryAndOwnErrors) {
  EXPECT_EQ(describe_exception(std::bad_alloc()).code, ExitCode::out_of_memory);
  EXPECT_EQ(describe_exception(InputError("x")).code, ExitCode::bad_input);
  EXPECT_EQ(describe_exception(UsageError("x")).code, ExitCode::usage);
  EXPECT_EQ(describe_exception(IoError("x")).code, ExitCode::io_failure);
  EXPECT_EQ(describe_exception(InterruptedError(15)).code, ExitCode::interrupted_term);
  EXPECT_EQ(describe_exception(std::runtime_error("boom")).code, ExitCode::internal);
}
