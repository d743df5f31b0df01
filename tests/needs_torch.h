// Tests that run `deepreduce run`, `worker`, `train` or `export-model` need a
// build with LibTorch; a -DDEEPREDUCE_WITH_TORCH=OFF build skips them, saying so.
#pragma once

#include <gtest/gtest.h>

#ifndef DEEPREDUCE_HAS_TORCH
#define DEEPREDUCE_HAS_TORCH 1
#endif

#define DEEPREDUCE_NEEDS_TORCH()                                                                    \
  do {                                                                                              \
    if (!DEEPREDUCE_HAS_TORCH)                                                                      \
      GTEST_SKIP() << "this build has no LibTorch (-DDEEPREDUCE_WITH_TORCH=OFF): the test trains"; \
  } while (0)
