#include "common/status.h"

#include <gtest/gtest.h>

namespace deepreduce {
namespace {

Status fails_at(int step, int limit) {
  if (step > limit) return Status::invalid_argument("step " + std::to_string(step));
  return Status();
}

Status chain(int limit) {
  for (int i = 0; i < 5; ++i) DR_RETURN_IF_ERROR(fails_at(i, limit));
  return Status();
}

TEST(StatusTest, ChainsStopAtTheFirstFailure) {
  EXPECT_TRUE(chain(10).ok());
  Status s = chain(2);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "step 3");
  EXPECT_EQ(s.to_string(), "InvalidArgument: step 3");
  EXPECT_EQ(s.with_context("configs/x.yaml:4").message(), "configs/x.yaml:4: step 3");
  EXPECT_TRUE(Status().with_context("ignored").ok());
}

TEST(ResultTest, HoldsAValueOrAStatus) {
  Result<int> good = 4;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  Result<int> bad = Status::not_found("no such trial abc");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace deepreduce
