package cuda

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vertebra-ml/vertebra/internal/atomicfile"
)

// The kernel cache keeps compiled images on disk so that a second run
// starts without compiling. A key covers everything the image depends on:
// the source, the compiler options, the target and NVRTC's version.

// cacheDir is the folder of compiled kernels: $VERTEBRA_CUDA_CACHE, or
// vertebra/cuda-kernels under the user's cache folder (os.UserCacheDir).
// It returns "" when there is none, and the cache is then skipped.
func cacheDir() string {
	if d := os.Getenv("VERTEBRA_CUDA_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "vertebra", "cuda-kernels")
}

// cacheKey names the image of src compiled for t by NVRTC version.
func cacheKey(name, src string, t target, version string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", src, strings.Join(kernelOptions, " "), t, version)
	ext := ".ptx"
	if t.cubin {
		ext = ".cubin"
	}
	return fmt.Sprintf("%s-%s-nvrtc%s-%s%s", strings.TrimSuffix(name, ".cu"), t, version, hex.EncodeToString(h.Sum(nil))[:16], ext)
}

// cacheLoad returns the cached image for key, or nil.
func cacheLoad(dir, key string) []byte {
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, key))
	if err != nil || len(b) == 0 {
		return nil
	}
	return b
}

// cacheStore writes the image under key atomically, so that a reader
// never sees half a file; a failure only costs a compile next time, so it
// is returned for the caller to ignore.
func cacheStore(dir, key string, image []byte) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cuda: kernel cache: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, key), image, 0o644)
}

// compileCached returns the image of src for t from the cache, compiling
// and storing it on a miss. fromCache says which happened.
func (n *nvrtcAPI) compileCached(name, src string, t target) (image []byte, fromCache bool, err error) {
	dir := cacheDir()
	key := cacheKey(name, src, t, n.version())
	if b := cacheLoad(dir, key); b != nil {
		return b, true, nil
	}
	image, _, err = n.compile(name, src, t)
	if err != nil {
		return nil, false, err
	}
	_ = cacheStore(dir, key, image) // a read-only cache folder only costs time
	return image, false, nil
}
