// enwanda tokenize: the token ids of a text under a model's tokenizer (tokenizer.h).
#include <fstream>
#include <iostream>
#include <iterator>

#include "enwanda/errors.h"
#include "enwanda/text/text_corpus.h"
#include "enwanda/text/tokenizer.h"
#include "console_output.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

class TokenizeCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* tokenize = parent.add_subcommand("tokenize", "the token ids of a text file under a model's tokenizer");
    tokenize->add_option("--model", model, "checkpoint (its tokenizer.model, else tokenizer.json)")->required();
    tokenize->add_option("--text", text_path, "text file, encoded whole (default: standard input)");
    tokenize->add_flag("--no-bos", no_bos, "without the tokens the tokenizer adds around the text (BOS)");
    flags.add(tokenize, "\"\\n\\n\"");
    logging.add(tokenize);
    return tokenize;
  }

  std::vector<std::string*> model_paths() override { return {&model}; }
  std::vector<std::string> run_files() const override { return {model, text_path}; }

  void run(const Invocation&) override {
    auto tok = Tokenizer::load_for_model(model);
    std::string text;
    if (flags.view() == RowsView::hf) {
      if (text_path.empty()) throw UsageError("--rows hf reads the rows of a --text file (not standard input)");
      text = read_text(std::vector<std::string>{text_path}, RowsView::hf, "\n\n");  // "\n\n".join(rows)
    } else if (text_path.empty()) {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(text_path, std::ios::binary);
      if (!in) throw InputError(text_path + ": cannot read");
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::string line;
    for (int64_t id : tok->encode(text, !no_bos, flags.literals())) line += (line.empty() ? "" : " ") + std::to_string(id);
    log_special_literals(*tok);
    print_result(line + "\n");
  }

 private:
  std::string model, text_path;
  TextFlags flags;
  bool no_bos = false;
};

}  // namespace

std::unique_ptr<Subcommand> make_tokenize_command() { return std::make_unique<TokenizeCommand>(); }

}  // namespace enwanda::cli
