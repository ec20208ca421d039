package nn

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/vertebra-ml/vertebra/nn/pth"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// ReadCheckpoint reads a state dict from a safetensors file or a PyTorch
// torch.save file (.pth/.pt, zip or legacy format; for the study's
// checkpoint layout its model_state_dict), telling them apart by content.
// Pickled code is never executed.
func ReadCheckpoint(path string) (*safetensors.File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: checkpoint: %w", err)
	}
	head := make([]byte, 9)
	n, _ := io.ReadFull(fh, head)
	fh.Close()
	head = head[:n]
	if isSafetensors(head) {
		return safetensors.ReadFile(path)
	}
	c, err := pth.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: %s is neither safetensors nor a readable PyTorch checkpoint: %w", path, err)
	}
	names, tensors, err := c.StateDict()
	if err != nil {
		return nil, fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	return &safetensors.File{Metadata: map[string]string{}, Names: names, Tensors: tensors}, nil
}

// isSafetensors recognises the 8-byte header length followed by the JSON
// header's opening brace; zip (PK) and pickle (0x80) files never start so.
func isSafetensors(head []byte) bool {
	return len(head) == 9 && head[8] == '{' && !bytes.HasPrefix(head, []byte("PK")) && head[0] != 0x80
}

// SaveFile writes the store's state dict as safetensors with the given
// metadata, through a temporary file and a rename so that an interrupted
// save never leaves a broken checkpoint in place.
func (s *Store) SaveFile(path string, metadata map[string]string) error {
	f := s.StateDict()
	for k, v := range metadata {
		f.Metadata[k] = v
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		return fmt.Errorf("nn: saving %s: %w", path, err)
	}
	return nil
}
