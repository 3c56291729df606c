// A confusion matrix as a PNG heat map people can read.
//
// Layout: a title line; class names over the columns (predicted, written bottom to top)
// and left of the rows (true); one square cell per pair holding its count; a colour bar
// on the right.  Colour: the cell's share of its row (the recall-style fraction, so a
// small class is as visible as a large one), white at 0 to dark blue at 100%; counts are
// drawn in black on light cells and white on dark ones.  Text is stb_easy_font's glyphs
// (libstb), their quads filled into the image at 2 pixels per font unit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic {

struct ConfusionImage {
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // width x height x 3
};

// confusion[true][predicted], square, classes.size() rows.  std::invalid_argument for a
// shape mismatch or no classes.
ConfusionImage draw_confusion(const std::vector<std::vector<uint64_t>>& confusion,
                              const std::vector<std::string>& classes, const std::string& title = "");
std::vector<uint8_t> encode_confusion_png(const std::vector<std::vector<uint64_t>>& confusion,
                                          const std::vector<std::string>& classes,
                                          const std::string& title = "");
// The same, written atomically to path.
void write_confusion_png(const std::string& path, const std::vector<std::vector<uint64_t>>& confusion,
                         const std::vector<std::string>& classes, const std::string& title = "");

}  // namespace flowpic
