// summary.html: a sweep's protocol, table and figures on one page that a browser opens offline
// (no script, no font or style sheet fetched; the SVG figures are inlined).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "enwanda/eval/sweep_report.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string> table_cells(const std::string& line) {  // "| a | b |" -> {"a", "b"}
  std::vector<std::string> cells;
  std::istringstream in(line);
  std::string cell;
  std::getline(in, cell, '|');  // before the first bar
  while (std::getline(in, cell, '|')) {
    const auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  if (!cells.empty() && cells.back().empty() && line.back() == '|') cells.pop_back();
  return cells;
}

std::string svg_of(const fs::path& path) {  // the <svg> element of a gnuplot SVG, without its XML prologue
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const auto start = text.find("<svg");
  return start == std::string::npos ? "" : text.substr(start);
}
}  // namespace

void write_sweep_html(ReportFiles& files, const std::string& heading, const std::vector<std::string>& protocol,
                      const std::string& table_markdown, const std::vector<std::string>& svg_stems) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << escaped(heading) << "</title>\n"
       << "<style>\nbody { font-family: sans-serif; margin: 2em; color: #222; }\n"
       << "table { border-collapse: collapse; font-size: 0.9em; }\n"
       << "th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }\n"
       << "th { background: #eee; } td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }\n"
       << "tbody tr:first-child td { font-weight: bold; }\n"
       << "figure { margin: 2em 0; } svg { max-width: 100%; height: auto; }\n</style>\n</head>\n<body>\n"
       << "<h1>" << escaped(heading) << "</h1>\n<ul>\n";
  for (const auto& p : protocol) html << "<li>" << escaped(p) << "</li>\n";
  html << "</ul>\n<table>\n";
  std::istringstream lines(table_markdown);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line.rfind("|---", 0) == 0) continue;
    const char* tag = n == 0 ? "th" : "td";
    html << (n == 0 ? "<thead><tr>" : "<tr>");
    for (const auto& c : table_cells(line)) html << "<" << tag << ">" << escaped(c) << "</" << tag << ">";
    html << (n == 0 ? "</tr></thead>\n<tbody>\n" : "</tr>\n");
    ++n;
  }
  html << "</tbody>\n</table>\n";
  for (const auto& stem : svg_stems) {
    const auto svg = svg_of(files.path(stem + ".svg"));
    if (!svg.empty()) html << "<figure>\n" << svg << "\n<figcaption>" << escaped(stem) << ".svg (also " << escaped(stem) << ".png)</figcaption>\n</figure>\n";
  }
  html << "</body>\n</html>\n";
  files.write("summary.html", html.str());
}

}  // namespace enwanda
