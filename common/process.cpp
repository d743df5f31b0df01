#include "common/process.h"

#include <malloc.h>

#include <climits>

namespace deepreduce {

void tune_allocator_for_training() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

}  // namespace deepreduce
