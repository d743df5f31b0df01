// Process-wide settings that every deepreduce program applies at start-up.
#pragma once

namespace deepreduce {

// Keeps freed memory in the heap instead of returning it to the kernel.
//
// Training allocates and frees the same large activation buffers every step.
// glibc serves blocks above its mmap threshold with mmap and unmaps them on
// free, so each step pays page faults for every activation: on this 2-core
// machine that was 2-3x of a ResNet18's CPU training time (BENCHMARKS.md).
// With mmap off and trimming off, the heap grows to the peak once and is
// reused. Call before any training; harmless for CUDA builds (pinned and device
// memory do not come from malloc).
void tune_allocator_for_training();

}  // namespace deepreduce
