// A fake libcuda.so.1 for package cuda's tests: "device" memory is host
// memory, copies are memcpy, and cuLaunchKernel runs the kernels of
// kernels/*.cu compiled as C++ into this library (each NAME has a launcher
// NAME__launch taking the argument array). Everything is synchronous.
#include <dlfcn.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <ucontext.h>

#include <vector>

#include "shim.h"

dim3 threadIdx, blockIdx, blockDim, gridDim;
uint64_t emu_exchange[32][32];

// The threads of the running block: coroutines with their own stacks.
namespace {
struct Fiber {
	ucontext_t ctx;
	bool done;
	int waiting;  // -2 running, -1 at the block barrier, w at warp w's
};
ucontext_t scheduler;
std::vector<Fiber> fibers;
std::vector<std::vector<char>> stacks;
unsigned current;
void (*kernel)(void**);
void** kernelArgs;
const size_t stackBytes = 64 << 10;

void fiberMain(unsigned t) {
	kernel(kernelArgs);
	fibers[t].done = true;
}

// runBlock runs one block's threads until all are done, releasing a
// barrier once every thread it concerns has arrived. It returns false on
// a deadlock (threads waiting at barriers others never reach).
bool runBlock(unsigned n) {
	fibers.assign(n, Fiber{});
	if (stacks.size() < n) stacks.resize(n, std::vector<char>(stackBytes));
	for (unsigned t = 0; t < n; t++) {
		Fiber& f = fibers[t];
		f.waiting = -2;
		getcontext(&f.ctx);
		f.ctx.uc_stack.ss_sp = stacks[t].data();
		f.ctx.uc_stack.ss_size = stackBytes;
		f.ctx.uc_link = &scheduler;
		makecontext(&f.ctx, (void (*)())fiberMain, 1, t);
	}
	for (;;) {
		bool ran = false;
		for (unsigned t = 0; t < n; t++) {
			if (fibers[t].done || fibers[t].waiting != -2) continue;
			current = t;
			threadIdx = {t, 0, 0};
			swapcontext(&scheduler, &fibers[t].ctx);
			ran = true;
		}
		unsigned done = 0, atBlock = 0, atWarp[32] = {0};
		for (auto& f : fibers) {
			if (f.done) done++;
			else if (f.waiting == -1) atBlock++;
			else if (f.waiting >= 0) atWarp[f.waiting]++;
		}
		if (done == n) return true;
		bool released = false;
		for (auto& f : fibers) {
			if (f.done) continue;
			if ((f.waiting == -1 && atBlock == n - done) || (f.waiting >= 0 && atWarp[f.waiting] == 32)) {
				f.waiting = -2;
				released = true;
			}
		}
		if (!released && !ran) return false;
	}
}
}  // namespace

void emu_wait(int warp) {
	fibers[current].waiting = warp;
	swapcontext(&fibers[current].ctx, &scheduler);
}

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
	kernel = (void (*)(void**))f;
	kernelArgs = params;
	gridDim = {gx, gy, 1};
	blockDim = {bx, 1, 1};
	for (unsigned y = 0; y < gy; y++)
		for (unsigned x = 0; x < gx; x++) {
			blockIdx = {x, y, 0};
			if (!runBlock(bx)) {
				std::fprintf(stderr, "emulated GPU: deadlock at a barrier in block (%u, %u)\n", x, y);
				return 719;  // CUDA_ERROR_LAUNCH_FAILED
			}
		}
	return 0;
}
}
