// A fake libcuda.so.1 for package cuda's tests: "device" memory is host
// memory, copies are memcpy, and cuLaunchKernel runs the kernels of
// kernels/*.cu compiled as C++ into this library (each NAME has a launcher
// NAME__launch taking the argument array). Everything is synchronous.
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "shim.h"

thread_local dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
std::barrier<>* emu_block_barrier;
std::barrier<>* emu_warp_barrier[32];
uint64_t emu_exchange[32][32];

typedef int CUresult;
extern "C" {
CUresult cuInit(unsigned) { return 0; }
CUresult cuDriverGetVersion(int* v) { *v = 12000; return 0; }
CUresult cuGetErrorName(CUresult r, const char** s) {
	*s = r == 1 ? "CUDA_ERROR_INVALID_VALUE" : r == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : r == 500 ? "CUDA_ERROR_NOT_FOUND" : "CUDA_ERROR_UNKNOWN";
	return 0;
}
CUresult cuDeviceGetCount(int* n) { *n = 1; return 0; }
CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char* buf, int len, int) { std::snprintf(buf, len, "emulated GPU (host threads)"); return 0; }
CUresult cuDeviceGetAttribute(int* v, int attr, int) {
	*v = attr == 75 ? 9 : attr == 76 ? 0 : attr == 16 ? 2 : 0;
	return 0;
}
CUresult cuDeviceTotalMem_v2(size_t* b, int) { *b = size_t(1) << 30; return 0; }
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)1; return 0; }
CUresult cuCtxSetCurrent(void*) { return 0; }
CUresult cuCtxSynchronize() { return 0; }
CUresult cuStreamCreate(void** s, unsigned) { *s = (void*)2; return 0; }
CUresult cuStreamSynchronize(void*) { return 0; }
CUresult cuMemAlloc_v2(void** p, size_t n) { *p = std::malloc(n); return *p ? 0 : 2; }
CUresult cuMemFree_v2(void* p) { std::free(p); return 0; }
CUresult cuMemHostAlloc(void** p, size_t n, unsigned) { *p = std::malloc(n); return *p ? 0 : 2; }
CUresult cuMemFreeHost(void* p) { std::free(p); return 0; }
CUresult cuMemcpyHtoDAsync_v2(void* d, const void* s, size_t n, void*) { std::memcpy(d, s, n); return 0; }
CUresult cuMemcpyDtoHAsync_v2(void* d, const void* s, size_t n, void*) { std::memcpy(d, s, n); return 0; }
CUresult cuMemcpyDtoDAsync_v2(void* d, const void* s, size_t n, void*) { std::memmove(d, s, n); return 0; }
CUresult cuMemsetD32Async(void* d, unsigned v, size_t n, void*) {
	for (size_t i = 0; i < n; i++) std::memcpy((char*)d + 4 * i, &v, 4);
	return 0;
}
CUresult cuMemGetInfo_v2(size_t* f, size_t* t) { *f = *t = size_t(1) << 30; return 0; }
CUresult cuModuleLoadDataEx(void** m, const void*, unsigned, void*, void*) { *m = (void*)3; return 0; }
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
	*f = dlsym(RTLD_DEFAULT, (std::string(name) + "__launch").c_str());
	return *f ? 0 : 500;
}
CUresult cuEventCreate(void** e, unsigned) { *e = (void*)4; return 0; }
CUresult cuEventRecord(void*, void*) { return 0; }
CUresult cuEventSynchronize(void*) { return 0; }
CUresult cuEventDestroy_v2(void*) { return 0; }

CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shmem,
                        void*, void** params, void** extra) {
	if (by != 1 || bz != 1 || gz != 1 || shmem != 0 || extra != nullptr || bx == 0 || bx % 32 != 0 || bx > 1024) return 1;
	auto launch = (void (*)(void**))f;
	gridDim = {gx, gy, 1};
	blockDim = {bx, 1, 1};
	std::barrier<> block(bx);
	emu_block_barrier = &block;
	std::vector<std::barrier<>*> warps;
	for (unsigned w = 0; w < bx / 32; w++) emu_warp_barrier[w] = new std::barrier<>(32);
	std::vector<std::thread> threads;
	for (unsigned t = 0; t < bx; t++)
		threads.emplace_back([=, &block] {
			threadIdx = {t, 0, 0};
			for (unsigned y = 0; y < gy; y++)
				for (unsigned x = 0; x < gx; x++) {
					blockIdx = {x, y, 0};
					launch(params);
					block.arrive_and_wait();
				}
		});
	for (auto& th : threads) th.join();
	for (unsigned w = 0; w < bx / 32; w++) delete emu_warp_barrier[w];
	return 0;
}
}
