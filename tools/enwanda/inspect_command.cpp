// enwanda inspect: config, tensors and per-linear sparsity of a checkpoint (inspect.h).
#include "enwanda/eval/inspect.h"
#include "enwanda/io/json_text.h"
#include "console_output.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

class InspectCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* inspect = parent.add_subcommand("inspect", "config, tensors and per-linear sparsity of a checkpoint");
    inspect->add_option("model,--model", model, "checkpoint directory (also as the only argument)")->required();
    inspect->add_flag("--json", as_json, "print JSON instead of a table");
    logging.add(inspect);
    return inspect;
  }

  std::vector<std::string*> model_paths() override { return {&model}; }
  std::vector<std::string> run_files() const override { return {model}; }

  void run(const Invocation&) override {
    auto j = inspect_checkpoint(model);
    print_result(as_json ? dump_json(j) + "\n" : format_inspection(j));
  }

 private:
  std::string model;
  bool as_json = false;
};

}  // namespace

std::unique_ptr<Subcommand> make_inspect_command() { return std::make_unique<InspectCommand>(); }

}  // namespace enwanda::cli
