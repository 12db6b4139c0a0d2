
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ship' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ship'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'ship' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented deploy.toml in the current directory (never overwrites one)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate deploy.toml; with ENV, also reach every target of ENV (and the [store]) and check them')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build the artifact for a commit and print its sha256')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what a deploy to ENV would do, touching nothing')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy a version to every target of ENV')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Switch every target of ENV back to the release that was live before')
            [CompletionResult]::new('promote', 'promote', [CompletionResultType]::ParameterValue, 'Deploy to TO the very artifact live and healthy on every target of FROM')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what is live on each target of ENV, and whether the targets agree')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'Show the deploy journal of ENV''s targets, newest first')
            [CompletionResult]::new('metrics', 'metrics', [CompletionResultType]::ParameterValue, 'Measure DORA''s four keys for ENV from its journals and git, with their performance bands')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove old releases, artifacts and uploaded ships from every target of ENV')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command in the live release of each target of ENV (or of those picked by --role and --target), with the steps'' environment')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Lock every target of ENV until `ship unlock`: deploys and rollbacks are refused (exit 3)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'End a `ship lock` on every target of ENV')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Serve on-target operations over stdin/stdout (started by ship itself over SSH)')
            [CompletionResult]::new('guard', 'guard', [CompletionResultType]::ParameterValue, 'Run a command as the guard of a step (started by ship itself for every step)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ship;init' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;check' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;build' {
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'The commit to build: any git revision (branch, tag, sha, HEAD~2)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('--allow-dirty', '--allow-dirty', [CompletionResultType]::ParameterName, 'Build from a working tree with uncommitted changes (the artifact is still the commit''s)')
            [CompletionResult]::new('--push', '--push', [CompletionResultType]::ParameterName, 'Also upload the artifact and its build record to deploy.toml''s [store], unless the store has it already')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;plan' {
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'The commit to plan: any git revision')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Also save the plan to FILE, for `ship deploy ENV --plan FILE` to apply exactly')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('--allow-dirty', '--allow-dirty', [CompletionResultType]::ParameterName, 'Plan from a working tree with uncommitted changes (the artifact is still the commit''s)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit 10 when changes are pending, 0 when every target is up to date')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;deploy' {
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'The commit to deploy: any git revision (branch, tag, sha, HEAD~2)')
            [CompletionResult]::new('--artifact', '--artifact', [CompletionResultType]::ParameterName, 'Deploy an artifact already in the local store, by sha256 (or a unique prefix)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Apply exactly the plan saved by `ship plan ENV --out FILE`; exit 6 if it is stale')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed without a terminal when the env has confirm = true)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed without a terminal when the env has confirm = true)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop: the same as `ship plan`')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Run the steps and health checks even on targets already on this artifact (never skips a gate: see --ignore-requires)')
            [CompletionResult]::new('--repair', '--repair', [CompletionResultType]::ParameterName, 'Where this artifact is live but its files changed since (what `status --verify` finds), rebuild the release from the artifact in place, then run the steps and checks')
            [CompletionResult]::new('--ignore-requires', '--ignore-requires', [CompletionResultType]::ParameterName, 'Deploy even though the artifact is not live on the environment named by `requires` (warned about, and recorded in every target''s journal)')
            [CompletionResult]::new('--allow-dirty', '--allow-dirty', [CompletionResultType]::ParameterName, 'Deploy HEAD even though the working tree has uncommitted changes')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;rollback' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The release to go back to: a release id, a version label or a commit')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would switch, touching nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;promote' {
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed without a terminal when TO has confirm = true)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed without a terminal when TO has confirm = true)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;status' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Rehash every live file against the release''s manifest; exit 1 on drift')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;history' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N events')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;metrics' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'The window: what ended within this long before now (e.g. 30d, 12w)')
            [CompletionResult]::new('--html', '--html', [CompletionResultType]::ParameterName, 'Also write a dashboard to FILE: one self-contained HTML page (no scripts, no network)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;prune' {
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Keep the newest N releases that went live, the live one and the previous one included (default: deploy.toml''s [release] keep)')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'When a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'List what would be removed and why the rest stays, touching nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;exec' {
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Only the targets that have this role (repeatable: those with any of them)')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only this target, its URL as deploy.toml writes it (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Run on at most N targets at once [default: the environment''s workers]')
            [CompletionResult]::new('--lock-wait', '--lock-wait', [CompletionResultType]::ParameterName, 'With --lock: when a target is locked, wait this long for it (e.g. 30s, 5m) instead of exiting 3')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'Take each picked target''s lock first, as a deploy does, and hold it while the command runs (held by someone else: exit 3, nothing run)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;lock' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why, for whoever is refused')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;unlock' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Lift the lock even when someone else holds it (recorded in every target''s journal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;agent' {
            [CompletionResult]::new('--path', '--path', [CompletionResultType]::ParameterName, 'The target''s directory')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;guard' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;completions' {
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Run as if ship was started in DIR')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'The deploy.toml to read [default: deploy.toml here, then in each parent up to the git root]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What stdout carries: text for people, or one JSON document for scripts')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour output (NO_COLOR is honoured under auto)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no progress or status lines on stderr (results and errors still print)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: the build command''s output and the releases pruned from each target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ship;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented deploy.toml in the current directory (never overwrites one)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate deploy.toml; with ENV, also reach every target of ENV (and the [store]) and check them')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build the artifact for a commit and print its sha256')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what a deploy to ENV would do, touching nothing')
            [CompletionResult]::new('deploy', 'deploy', [CompletionResultType]::ParameterValue, 'Deploy a version to every target of ENV')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Switch every target of ENV back to the release that was live before')
            [CompletionResult]::new('promote', 'promote', [CompletionResultType]::ParameterValue, 'Deploy to TO the very artifact live and healthy on every target of FROM')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show what is live on each target of ENV, and whether the targets agree')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'Show the deploy journal of ENV''s targets, newest first')
            [CompletionResult]::new('metrics', 'metrics', [CompletionResultType]::ParameterValue, 'Measure DORA''s four keys for ENV from its journals and git, with their performance bands')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove old releases, artifacts and uploaded ships from every target of ENV')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command in the live release of each target of ENV (or of those picked by --role and --target), with the steps'' environment')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Lock every target of ENV until `ship unlock`: deploys and rollbacks are refused (exit 3)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'End a `ship lock` on every target of ENV')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Serve on-target operations over stdin/stdout (started by ship itself over SSH)')
            [CompletionResult]::new('guard', 'guard', [CompletionResultType]::ParameterValue, 'Run a command as the guard of a step (started by ship itself for every step)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ship;help;init' {
            break
        }
        'ship;help;check' {
            break
        }
        'ship;help;build' {
            break
        }
        'ship;help;plan' {
            break
        }
        'ship;help;deploy' {
            break
        }
        'ship;help;rollback' {
            break
        }
        'ship;help;promote' {
            break
        }
        'ship;help;status' {
            break
        }
        'ship;help;history' {
            break
        }
        'ship;help;metrics' {
            break
        }
        'ship;help;prune' {
            break
        }
        'ship;help;exec' {
            break
        }
        'ship;help;lock' {
            break
        }
        'ship;help;unlock' {
            break
        }
        'ship;help;agent' {
            break
        }
        'ship;help;guard' {
            break
        }
        'ship;help;completions' {
            break
        }
        'ship;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
