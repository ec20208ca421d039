// Package nn is vertebra's layer library: named parameters and buffers in
// a Store, Builders that create layers under their checkpoint key names,
// the layers the six backbones and the study's head need, PyTorch-compatible
// initialisers, state dicts and checkpoint loading (safetensors and PyTorch
// .pth), and freezing.
//
// Building a model and naming its weights are one act, as in candle's
// VarBuilder: a layer built with b.Sub("layer1").SubN(0).Sub("conv1")
// creates its weight as "layer1.0.conv1.weight", so loading a checkpoint
// is a lookup by name, and a state dict comes out in the order PyTorch's
// state_dict() and parameters() list it when layers are built in the
// reference's registration order.
//
//	store := nn.NewStore(autograd.Float32, 1)
//	fc := nn.NewLinear(store.Root().Sub("fc"), 512, 3, true)
//	if err := store.LoadFile(ckpt, nn.LoadOptions{Strict: true}); err != nil { ... }
//	store.SetTraining(false) // a new store trains, as a new PyTorch module; this is model.eval()
//	logits := fc.Forward(x)
//
// NewSequential names a Sequential's children by index, as
// torch.nn.Sequential does.
//
// nn is not for optimizers (package optim) or models (vision/models).
package nn
