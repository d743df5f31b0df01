// TinyImageNet (the tiny-imagenet-200 distribution): 200 classes of 64x64
// colour JPEGs, 500 training images per class and 50 validation images per
// class. Its test images carry no labels, so, as is usual, the validation set
// is the test split (a search's own validation split comes out of training).
//
// Layout (DIR or DIR/tiny-imagenet-200):
//   wnids.txt                        the 200 class ids, one per line; a label is its line number
//   train/<wnid>/images/*.JPEG       training images of that class
//   val/images/*.JPEG                validation images
//   val/val_annotations.txt          FILE <tab> WNID <tab> box...: each validation image's class
//
// Decoding 110,000 JPEGs takes a while, so a split is decoded once (libjpeg-
// turbo) into DIR/.deepreduce-cache/{train,val}.bin and read from there while
// the tree is unchanged (the cache records the name and size of every file it
// was made from). A read-only data folder is decoded each time instead.
#pragma once

#include <string>

#include "train/dataset.h"

namespace deepreduce::train {

Result<Dataset> load_tiny_imagenet(const std::string& dir, Split split);

}  // namespace deepreduce::train
