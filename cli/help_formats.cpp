// help_formats.cpp — the command tree that `--help` prints, rendered as the
// plinth(1) manual page (roff) and as a bash completion script, so both are
// made at build time from the same CLI11 definitions and cannot drift. The
// prose sections of the page (files, environment, examples) are below.
// Not here: the commands themselves.
#include <cctype>
#include <sstream>

#include "commands.hpp"

namespace plinth::cli {
namespace {

// roff text: backslashes, hyphens (as \- so they stay ASCII minus signs) and
// a leading '.' or '\'' that would start a request.
std::string roff(std::string_view s) {
  std::string o;
  for (char c : s) {
    if (c == '\\')
      o += "\\e";
    else if (c == '-')
      o += "\\-";
    else if (c == '`')
      o += "\\(ga";
    else
      o += c;
  }
  if (!o.empty() && (o[0] == '.' || o[0] == '\'')) o = "\\&" + o;
  return o;
}

std::vector<const CLI::App*> subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

bool hidden(const CLI::Option* o) { return o->get_group().empty(); }

// Choices of an IsMember option from its type name "TEXT:{a,b,c}".
std::vector<std::string> choices(const CLI::Option* o) {
  std::vector<std::string> c;
  const std::string t = o->get_type_name();
  const auto a = t.find('{'), b = t.find('}', a == std::string::npos ? 0 : a);
  if (a == std::string::npos || b == std::string::npos) return c;
  std::stringstream ss(t.substr(a + 1, b - a - 1));
  for (std::string item; std::getline(ss, item, ',');) c.push_back(item);
  return c;
}

bool takes_value(const CLI::Option* o) { return o->get_items_expected_max() > 0; }

// The placeholder of an option's value: its option_text, else the last word
// of its long name (--out-dir DIR -> "dir").
std::string placeholder(const CLI::Option* o) {
  if (!o->get_option_text().empty()) return o->get_option_text();
  std::string n = o->get_lnames().empty() ? o->get_name() : o->get_lnames().front();
  if (auto p = n.rfind('-'); p != std::string::npos) n = n.substr(p + 1);
  return n;
}

std::string option_roff(const CLI::Option* o) {
  std::string s;
  for (const auto& n : o->get_snames())
    s += (s.empty() ? "" : ", ") + std::string("\\fB\\-") + roff(n) + "\\fR";
  for (const auto& n : o->get_lnames())
    s += (s.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + roff(n) + "\\fR";
  if (takes_value(o)) s += " \\fI" + roff(placeholder(o)) + "\\fR";
  return s;
}

void options_roff(const CLI::App& app, std::string& out) {
  for (const CLI::Option* o : app.get_options()) {
    if (hidden(o) || o->get_positional() || o == app.get_help_ptr()) continue;
    std::string d = o->get_description();
    if (!d.empty() && d.back() != '.') d += '.';
    out += ".TP\n" + option_roff(o) + "\n" + roff(d) + "\n";
    if (auto c = choices(o); !c.empty()) {
      out += "One of";
      for (size_t i = 0; i < c.size(); ++i)
        out += (i ? ", " : " ") + std::string("\\fB") + roff(c[i]) + "\\fR";
      out += ".\n";
    }
  }
}

std::string positionals(const CLI::App& app, bool roff_text) {
  std::string s;
  for (const CLI::Option* o : app.get_options()) {
    if (!o->get_positional() || o->nonpositional()) continue;
    std::string n = o->get_name(true);
    if (o->get_items_expected_max() > 1) n += " ...";
    if (!o->get_required()) n = "[" + n + "]";
    s += roff_text ? " \\fI" + roff(n) + "\\fR" : " " + n;
  }
  return s;
}

// Depth first: every command with its path ("plugins inspect").
void walk(const CLI::App& app, const std::string& path,
          std::vector<std::pair<std::string, const CLI::App*>>& into) {
  for (const CLI::App* sub : subcommands(app)) {
    const std::string p = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    into.emplace_back(p, sub);
    walk(*sub, p, into);
  }
}

const char* kDescription = R"(.SH DESCRIPTION
.B plinth
reads a pipeline description in TOML (data sources, model layers, loss,
optimizer, schedule, training loop) and trains it. Compute backends,
communicators, optimizers and data sources are shared\-library plugins,
found through TOML manifest fragments in the folders listed under
.BR FILES .
Each run is written to
.IR runs/<name>/ :
the resolved pipeline, the plugin set, metrics.jsonl (one JSON object per
logged step and per evaluation, with cumulative time per phase and, where
measured, energy), summary.json, log.txt and checkpoints.
.BR "plinth report" ,
.B plinth runs
and
.B plinth export
read these folders back.
)";

const char* kSections = R"(.SH ENVIRONMENT
.TP
.B PLINTH_PLUGIN_PATH
Colon\-separated manifest files or folders, searched after
.BR \-\-plugin\-path .
.TP
.B PLINTH_LOG_LEVEL
Default log level.
.TP
.B PLINTH_POWERCAP_ROOT
The powercap folder energy is read from (default
.IR /sys/class/powercap ).
.TP
.B NO_COLOR
When set and not empty, no colour in any output. Colour is otherwise used
only when the output is a terminal.
.TP
.B XDG_CONFIG_HOME
The user's manifest folder is
.IR $XDG_CONFIG_HOME/plinth/plugins.d ,
or
.I ~/.config/plinth/plugins.d
when it is unset.
.SH FILES
Manifest fragments
.RI ( *.toml )
are read in this order. When two entries share a plugin name, the one with
the higher
.B priority
is loaded; on a tie the earlier one wins (see
.IR /usr/share/doc/plinth/plugins.md ).
Before these come
.BR \-\-plugin\-path ,
.B PLINTH_PLUGIN_PATH
and the user's folder:
.TP
.I /etc/plinth/plugins.d/
Manifests added by the system's operator.
.TP
.I /usr/share/plinth/plugins.d/
Manifests shipped by the
.B plinth
package and by plugin packages (found relative to the
.B plinth
binary, as
.IR <prefix>/share/plinth/plugins.d ).
.TP
.I /usr/lib/<multiarch>/plinth/plugins/
The plugin libraries. A manifest's
.B path
is relative to the manifest's own folder.
.TP
.I /usr/share/plinth/examples/mnist/
An example pipeline and the script that fetches its data.
.TP
.I /sys/class/powercap/intel\-rapl:*/energy_uj
RAPL energy counters. When they are missing or not readable (often root
only), energy is reported as not measured, with the reason.
.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
Runtime failure: training failed, a file or folder could not be written
(a full disk, a read\-only folder), or
.B plugins doctor
found a broken plugin.
.TP
.B 2
Bad input: a command line, pipeline, manifest or run folder error, or an
output path that is a device, FIFO, socket or folder (a symbolic link is
written through to its target).
.TP
.B 130
.B train
was interrupted (Ctrl\-C); the run folder holds what was done. SIGTERM and
SIGHUP stop it the same way with exit 0.
.SH EXAMPLES
Train the packaged MNIST example in a scratch folder, then look at it:
.PP
.RS
.nf
cp \-r /usr/share/plinth/examples/mnist ~/mnist
~/mnist/prepare_data.sh
cd ~/mnist && plinth train pipeline.toml
plinth runs
plinth report runs/mnist\-mlp \-o report.html
plinth export runs/mnist\-mlp \-\-csv
.fi
.RE
.SH SEE ALSO
.BR plinth\-plugin\-check (1),
.I /usr/share/doc/plinth/
)";

}  // namespace

std::string man_page(const CLI::App& app, const std::string& version, const std::string& date) {
  std::string desc = app.get_description();
  if (auto p = desc.find(": "); p != std::string::npos) desc = desc.substr(p + 2);
  std::string o =
      ".\\\" plinth.1 \\- made at build time by `plinth \\-\\-help\\-man` from the definitions\n"
      ".\\\" behind `plinth \\-\\-help` (cli/help_formats.cpp); edit those, not this file.\n";
  o += ".TH PLINTH 1 \"" + date + "\" \"Plinth " + roff(version) + "\" \"User Commands\"\n";
  o += ".SH NAME\nplinth \\- " + roff(desc) + "\n.SH SYNOPSIS\n";
  std::vector<std::pair<std::string, const CLI::App*>> cmds;
  walk(app, "", cmds);
  for (const auto& [path, sub] : cmds) {
    if (!subcommands(*sub).empty()) continue;  // only commands that run
    o += ".B plinth\n.RI [ global\\-options ]\n.B " + roff(path) + "\n";
    const std::string pos = positionals(*sub, true);
    if (!pos.empty()) o += pos.substr(1) + "\n";
    bool any_opt = false;
    for (const CLI::Option* opt : sub->get_options())
      any_opt |= !hidden(opt) && !opt->get_positional() && opt != sub->get_help_ptr();
    if (any_opt) o += ".RI [ options ]\n";
    o += ".br\n";
  }
  o += ".B plinth \\-\\-version\n";
  o += kDescription;
  o += ".SH COMMANDS\n";
  for (const auto& [path, sub] : cmds) {
    o += ".TP\n\\fB" + roff(path) + "\\fR" + positionals(*sub, true) + "\n" + roff(sub->get_description()) +
         ".\n";
    std::string opts;
    options_roff(*sub, opts);
    if (!opts.empty()) o += ".RS\n" + opts + ".RE\n";
  }
  o += ".SH OPTIONS\nGlobal options, accepted before or after the command:\n";
  options_roff(app, o);
  o += ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nPrint a usage summary (also after any command).\n";
  o += kSections;
  return o;
}

std::string bash_completion(const CLI::App& app) {
  std::vector<std::pair<std::string, const CLI::App*>> cmds{{"", &app}};
  walk(app, "", cmds);
  std::string value_opts, cases, values;
  for (const CLI::Option* opt : app.get_options())
    if (!hidden(opt) && !opt->get_positional() && takes_value(opt))
      for (const auto& n : opt->get_lnames()) value_opts += " --" + n;
  for (const auto& [path, cmd] : cmds) {
    std::string subs, opts = "--help";
    for (const CLI::App* s : subcommands(*cmd)) subs += (subs.empty() ? "" : " ") + s->get_name();
    bool files = false;
    for (const CLI::Option* opt : cmd->get_options()) {
      if (hidden(opt) || opt == cmd->get_help_ptr()) continue;
      if (opt->get_positional() && !opt->nonpositional()) {
        files = true;
        continue;
      }
      for (const auto& n : opt->get_snames()) opts += " -" + n;
      for (const auto& n : opt->get_lnames()) opts += " --" + n;
      if (!takes_value(opt)) continue;
      std::string names;
      for (const auto& n : opt->get_snames()) names += (names.empty() ? "" : "|") + std::string("-") + n;
      for (const auto& n : opt->get_lnames()) names += (names.empty() ? "" : "|") + std::string("--") + n;
      if (cmd != &app)
        for (const auto& n : opt->get_lnames()) value_opts += " --" + n;
      for (const auto& n : opt->get_snames()) value_opts += " -" + n;
      const auto c = choices(opt);
      std::string words;
      for (const auto& w : c) words += (words.empty() ? "" : " ") + w;
      values += "    " + names + ")\n      " +
                (c.empty() ? std::string("_plinth_files")
                           : "COMPREPLY=($(compgen -W '" + words + "' -- \"$cur\"))") +
                "\n      return ;;\n";
    }
    cases += "    '" + path + "') subs='" + subs + "'; opts='" + opts + "'; files=" + (files ? "1" : "0") +
             " ;;\n";
  }
  // Global options are accepted after any command too.
  std::string global_opts;
  for (const CLI::Option* opt : app.get_options())
    if (!hidden(opt) && !opt->get_positional() && opt != app.get_help_ptr())
      for (const auto& n : opt->get_lnames()) global_opts += " --" + n;

  return "# bash completion for plinth; made at build time by `plinth --completion-bash` from the\n"
         "# definitions behind `plinth --help` (cli/help_formats.cpp).\n"
         "_plinth_files() {\n"
         "  compopt -o filenames 2>/dev/null\n"
         "  COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "}\n"
         "_plinth() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
         "  local path='' w i subs opts files\n"
         "  local value_opts='" +
         value_opts.substr(value_opts.empty() ? 0 : 1) +
         " '\n"
         "  # The command so far: the words that name subcommands, skipping options and their values.\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=\"${COMP_WORDS[i]}\"\n"
         "    if [[ $w == -* ]]; then\n"
         "      [[ $w != *=* && \" $value_opts \" == *\" $w \"* ]] && ((i++))\n"
         "      continue\n"
         "    fi\n"
         "    _plinth_cmd \"${path:+$path }$w\" && path=\"${path:+$path }$w\"\n"
         "  done\n"
         "  case \"$prev\" in\n" +
         values +
         "  esac\n"
         "  _plinth_cmd \"$path\"\n"
         "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$opts" +
         global_opts +
         "\" -- \"$cur\"))\n"
         "  elif [[ -n $subs ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
         "  elif ((files)); then\n"
         "    _plinth_files\n"
         "  fi\n"
         "}\n"
         "# Sets subs, opts and files for a command path; fails for an unknown one.\n"
         "_plinth_cmd() {\n"
         "  case \"$1\" in\n" +
         cases +
         "    *) return 1 ;;\n"
         "  esac\n"
         "}\n"
         "complete -F _plinth plinth\n";
}

}  // namespace plinth::cli
