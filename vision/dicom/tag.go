package dicom

import "fmt"

// Tag identifies a data element: the group number in the high 16 bits,
// the element number in the low 16 bits, so (0028,0010) is 0x00280010.
type Tag uint32

// NewTag returns the tag (group,element).
func NewTag(group, element uint16) Tag { return Tag(group)<<16 | Tag(element) }

// Group returns the tag's group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the tag's element number.
func (t Tag) Element() uint16 { return uint16(t) }

// String formats the tag the way the standard does, e.g. "(7FE0,0010)".
func (t Tag) String() string {
	return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element())
}

// Tags of the attributes the image reader and writer use.
const (
	tagMetaGroupLength        Tag = 0x00020000
	tagMetaVersion            Tag = 0x00020001
	tagMediaSOPClassUID       Tag = 0x00020002
	tagMediaSOPInstanceUID    Tag = 0x00020003
	tagTransferSyntaxUID      Tag = 0x00020010
	tagImplementationClassUID Tag = 0x00020012
	tagImplementationVersion  Tag = 0x00020013
	tagSpecificCharacterSet   Tag = 0x00080005
	tagImageType              Tag = 0x00080008
	tagSOPClassUID            Tag = 0x00080016
	tagSOPInstanceUID         Tag = 0x00080018
	tagModality               Tag = 0x00080060
	tagSeriesDescription      Tag = 0x0008103E
	tagPatientID              Tag = 0x00100020
	tagStudyInstanceUID       Tag = 0x0020000D
	tagSeriesInstanceUID      Tag = 0x0020000E
	tagInstanceNumber         Tag = 0x00200013
	tagImagePositionPatient   Tag = 0x00200032
	tagImageOrientation       Tag = 0x00200037
	tagSamplesPerPixel        Tag = 0x00280002
	tagPhotometric            Tag = 0x00280004
	tagNumberOfFrames         Tag = 0x00280008
	tagRows                   Tag = 0x00280010
	tagColumns                Tag = 0x00280011
	tagPixelSpacing           Tag = 0x00280030
	tagBitsAllocated          Tag = 0x00280100
	tagBitsStored             Tag = 0x00280101
	tagHighBit                Tag = 0x00280102
	tagPixelRepresentation    Tag = 0x00280103
	tagRescaleIntercept       Tag = 0x00281052
	tagRescaleSlope           Tag = 0x00281053
	tagPixelData              Tag = 0x7FE00010
	tagItem                   Tag = 0xFFFEE000
	tagItemDelim              Tag = 0xFFFEE00D
	tagSequenceDelim          Tag = 0xFFFEE0DD
)

// implicitVR gives the VR of the attributes this package interprets, for
// data sets in implicit VR where the file does not say.
func implicitVR(t Tag) string {
	if t.Element() == 0x0000 {
		return "UL" // group length
	}
	switch t {
	case tagTransferSyntaxUID, tagMediaSOPClassUID, tagMediaSOPInstanceUID,
		tagImplementationClassUID, tagSOPClassUID, tagSOPInstanceUID,
		tagStudyInstanceUID, tagSeriesInstanceUID:
		return "UI"
	case tagSpecificCharacterSet, tagImageType, tagModality, tagPhotometric:
		return "CS"
	case tagSeriesDescription, tagPatientID:
		return "LO"
	case tagImplementationVersion:
		return "SH"
	case tagInstanceNumber, tagNumberOfFrames:
		return "IS"
	case tagImagePositionPatient, tagImageOrientation, tagPixelSpacing,
		tagRescaleIntercept, tagRescaleSlope:
		return "DS"
	case tagSamplesPerPixel, tagRows, tagColumns, tagBitsAllocated,
		tagBitsStored, tagHighBit, tagPixelRepresentation:
		return "US"
	case tagPixelData:
		return "OW"
	case tagMetaVersion:
		return "OB"
	}
	return "UN"
}
