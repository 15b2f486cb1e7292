#!/usr/bin/env bash
# buf breaking for the contracts: every recent commit that touched protos/ is checked against its
# parent, so a submission of any number of commits is covered without knowing where the previous
# main was. BUF_BREAKING_AGAINST=<ref> checks the working tree against that ref instead.
set -euo pipefail
BUF=$(realpath "${BUF:-tools/node_modules/.bin/buf}")
DEPTH=${BUF_BREAKING_DEPTH:-50}

if [ -n "${BUF_BREAKING_AGAINST:-}" ]; then
  "$BUF" breaking --against ".git#ref=${BUF_BREAKING_AGAINST}"
  echo "buf breaking: OK against ${BUF_BREAKING_AGAINST}"
  exit 0
fi

checked=0
for rev in $(git rev-list --max-count="$DEPTH" HEAD -- protos buf.yaml); do
  parent=$(git rev-parse -q --verify "${rev}^" || true)
  [ -n "$parent" ] || continue
  # the parent must already have had the contracts (the commit that introduced them is the base)
  git cat-file -e "${parent}:buf.yaml" 2>/dev/null || continue
  [ -n "$(git ls-tree -r --name-only "$parent" -- protos/nerava)" ] || continue
  tmp=$(mktemp -d)
  git worktree add -q --detach "$tmp" "$rev"
  if ! (cd "$tmp" && "$BUF" breaking --against "$OLDPWD/.git#ref=${parent}"); then
    git worktree remove --force "$tmp"
    echo "buf breaking: commit $(git log -1 --format='%h %s' "$rev") breaks the contract of its parent" >&2
    exit 1
  fi
  git worktree remove --force "$tmp"
  checked=$((checked + 1))
done
# and the working tree against HEAD (uncommitted contract changes)
"$BUF" breaking --against ".git#ref=HEAD"
echo "buf breaking: OK (${checked} contract-changing commits checked against their parents, and the working tree against HEAD)"
