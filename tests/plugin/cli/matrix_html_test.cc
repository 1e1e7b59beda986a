// `nodefit index matrix --format html` as a browser sees it: Debian's
// Chromium, headless, parses the page (the DOM it builds, --dump-dom) and
// renders it (--screenshot, kept in the build tree for a person to look
// at). The structure must survive the browser's parse: a page that closes
// a tag wrongly gets rows or cells moved, which the counts below catch.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace nodefit {
namespace {

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

TEST(MatrixHtmlTest, ChromiumParsesAndRendersTheSeedMatrix) {
  testing::TempDir dir;
  const nlohmann::json cases = testing::LoadSelectionCaseFiles()[0].cases;
  const std::string index =
      dir.Write("cv-tf.json", cases["indexes"]["cv-tf"].dump());
  // Hostile text in a profile name must stay text in the browser too.
  const std::string nodes = dir.Write(
      "nodes.txt",
      "seed M60 node = linux/amd64:broadwell:nv-compute-5-2:nvidia-396-44\n"
      "skylake = linux/amd64:skylake\n"
      "<script>alert(1)</script> = linux/amd64\n");
  const testing::RunResult page = testing::Run(
      {NODEFIT_BINARY, "index", "matrix", index, "--nodes", nodes, "--format",
       "html", "--config", dir.Write("config.json", "{}")});
  ASSERT_EQ(page.exit_code, 0) << page.err;
  const std::string html = dir.Write("matrix.html", page.out);

  const testing::RunResult dom =
      testing::Run({"/usr/bin/chromium", "--headless=new", "--no-sandbox",
                    "--disable-gpu", "--dump-dom", "file://" + html});
  ASSERT_EQ(dom.exit_code, 0)
      << "chromium (scripts/install-deps installs it): " << dom.err;
  // Three profile rows, one winner each, in the expected columns: the M60
  // node gets #10, the Skylake node #1, the featureless one #0.
  EXPECT_EQ(Count(dom.out, "<tr class=\"profile\">"), 3);
  EXPECT_EQ(Count(dom.out, "class=\"winner\""), 3);
  EXPECT_EQ(Count(dom.out, "<th class=\"entry\""), 11);
  std::vector<std::string> rows =
      absl::StrSplit(dom.out, "<tr class=\"profile\">");
  ASSERT_EQ(rows.size(), 4U);
  const int expected[] = {10, 1, 0};
  for (int r = 0; r < 3; ++r) {
    SCOPED_TRACE(r);
    const std::string& row = rows[r + 1];
    const size_t winner = row.find("class=\"winner\"");
    ASSERT_NE(winner, std::string::npos);
    // Cells opened up to the winner's: one per entry to its left, and its
    // own.
    EXPECT_EQ(Count(row.substr(0, winner), "<td"), expected[r] + 1);
  }
  EXPECT_EQ(Count(dom.out, "<script"), 0);
  EXPECT_THAT(dom.out, ::testing::HasSubstr("&lt;script&gt;alert(1)"));

  const std::string png = std::string(NODEFIT_BUILD_DIR) + "/matrix-cv-tf.png";
  std::filesystem::remove(png);
  const testing::RunResult shot = testing::Run(
      {"/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
       "--hide-scrollbars", "--window-size=2000,600", "--screenshot=" + png,
       "file://" + html});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  ASSERT_TRUE(std::filesystem::exists(png));
  std::ifstream file(png, std::ios::binary);
  std::string magic(8, '\0');
  file.read(magic.data(), 8);
  EXPECT_EQ(magic, "\x89PNG\r\n\x1a\n");
  EXPECT_GT(std::filesystem::file_size(png), 10000U);
  std::cout << "screenshot: " << png << "\n";
}

}  // namespace
}  // namespace nodefit
