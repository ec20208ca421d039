// Package transforms turns a decoded slice into the tensor a backbone eats:
// min-max scaling, cropping around a labelled point, bilinear resizing that
// matches PyTorch, grayscale to three channels, ImageNet normalisation, and
// the training augmentations (random horizontal flip and rotation).
//
// Images are host-side [Image] values (float32, CHW, row-major). Every random
// choice draws from an explicit *rand.Rand, so a pipeline's output is a pure
// function of its input and its seed.
//
// The study's evaluation path is
//
//	MinMax -> Resize(224, 224) -> GrayToRGB -> Normalize(ImageNet)
//
// and training adds a horizontal flip (p = 0.5) and a rotation drawn from
// ±15 degrees after the resize; [Train] and [Eval] build both from a
// [Config].
//
// The study resized with torchvision 0.14's transforms.Resize applied to a
// float tensor, which is F.interpolate(mode="bilinear", align_corners=False)
// without antialiasing; [Resize] reproduces that exactly. Resize applied to
// a PIL image would instead have used PIL's antialiased bilinear filter, and
// newer torchvision antialiases tensors too; [ResizeAntialias] is PyTorch's
// antialias=True, which is what Config.Antialias selects.
//
// The package is not an image library: it does no file decoding, no colour
// management, and it does not import the autograd package; turning a batch
// into a tensor on a device is the caller's job.
package transforms
