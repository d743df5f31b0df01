// The kinds of artifact a trial may have: the store's files, the worker's
// inputs and the wire's UPLOAD, FETCH and ARTIFACT name them. Header-only.
#pragma once

#include "common/enum_names.h"

namespace deepreduce::spec {

// Its final weights, its latest checkpoint, a mask phase's learned mask (spec/relu_mask.h).
enum class ArtifactKind { kModel, kCheckpoint, kMask };
inline constexpr EnumName<ArtifactKind> kArtifactKindNames[] = {
    {ArtifactKind::kModel, "model"}, {ArtifactKind::kCheckpoint, "checkpoint"}, {ArtifactKind::kMask, "mask"}};
inline const char* artifact_kind_name(ArtifactKind k) { return enum_name(k, kArtifactKindNames); }

}  // namespace deepreduce::spec
