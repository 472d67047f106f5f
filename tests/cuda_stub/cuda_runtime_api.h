// Parse-check stub, not CUDA: just enough of the CUDA runtime's names for libtorch's c10/cuda headers
// and src/model/device_memory.cpp's CUDA branch to compile with -fsyntax-only on a machine without CUDA.
#pragma once
#include <cstddef>
typedef int cudaError_t; typedef struct CUstream_st* cudaStream_t; typedef struct CUevent_st* cudaEvent_t;
typedef int cudaMemcpyKind; typedef struct CUgraph_st* cudaGraph_t; typedef struct CUgraphExec_st* cudaGraphExec_t;
typedef unsigned long long cudaStreamCaptureStatus_t;
enum { cudaSuccess = 0, cudaErrorNotReady = 600, cudaStreamCaptureStatusNone = 0, cudaStreamCaptureStatusActive = 1,
       cudaStreamCaptureStatusInvalidated = 2, cudaMemcpyDeviceToHost = 2, cudaMemcpyHostToDevice = 1,
       cudaStreamNonBlocking = 1, cudaEventDisableTiming = 2, cudaEventDefault = 0, cudaEventInterprocess = 4,
       cudaStreamCaptureModeGlobal = 0, cudaStreamCaptureModeThreadLocal = 1, cudaStreamCaptureModeRelaxed = 2,
       cudaErrorMemoryAllocation = 2, cudaStreamDefault = 0 };
typedef int cudaStreamCaptureStatus; typedef int cudaStreamCaptureMode;
cudaError_t cudaMemGetInfo(size_t*, size_t*);
template <class... A> cudaError_t cudaMemcpyAsync(A...);
template <class... A> cudaError_t cudaStreamSynchronize(A...);
template <class... A> cudaError_t cudaStreamQuery(A...);
template <class... A> cudaError_t cudaGetLastError(A...);
template <class... A> cudaError_t cudaStreamGetPriority(A...);
template <class... A> cudaError_t cudaDeviceGetStreamPriorityRange(A...);
template <class... A> cudaError_t cudaStreamIsCapturing(A...);
template <class... A> cudaError_t cudaStreamGetCaptureInfo(A...);
template <class... A> cudaError_t cudaThreadExchangeStreamCaptureMode(A...);
template <class... A> const char* cudaGetErrorString(A...);
template <class... A> cudaError_t cudaDeviceSynchronize(A...);
template <class... A> cudaError_t cudaGetDevice(A...);
template <class... A> cudaError_t cudaSetDevice(A...);
