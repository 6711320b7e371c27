package registry

import (
	"context"
	"fmt"

	"github.com/temporaldeployer/temporaldeployer/contract"
)

// archiveHolder runs before mv takes the production alias: the version holding it is archived
// (seed 000's ladder: Production → Archived), and mv records which one in TagArchivedPredecessor
// first, so a retry after the alias moved still reports it. It returns the archived version, "" if
// Production had no other holder.
func (m *MLflow) archiveHolder(ctx context.Context, mv mlflowVersion, ch StageChange) (string, error) {
	alias := stageAlias(contract.StageProduction)
	holder, found, err := m.byAlias(ctx, mv.Name, alias)
	if err != nil {
		return "", err
	}
	if found && holder.Version == mv.Version { // a retry: the alias already moved
		return mv.tag(TagArchivedPredecessor), nil
	}
	predecessor := ""
	if found {
		predecessor = holder.Version
	}
	if mv.tag(TagArchivedPredecessor) != predecessor {
		if err := m.SetTags(ctx, mv.Name, mv.Version, map[string]string{TagArchivedPredecessor: predecessor}); err != nil {
			return "", err
		}
	}
	if !found {
		return "", nil
	}
	archive := StageChange{Stage: contract.StageArchived, Actor: ch.Actor,
		Reason: fmt.Sprintf("superseded in Production by version %s", mv.Version)}
	if err := m.setStageTags(ctx, holder, contract.StageArchived, archive); err != nil {
		return "", err
	}
	return predecessor, nil
}

// restoreProduction runs after mv left Production on a revert: ch.Restore, archived when mv took
// Production, gets its stage and the production alias back, unless another version holds the
// alias or ch.Restore was moved elsewhere since (Staging, Shadow, None). It returns the restored
// version, "" if it restored nothing.
func (m *MLflow) restoreProduction(ctx context.Context, mv mlflowVersion, ch StageChange) (string, error) {
	alias := stageAlias(contract.StageProduction)
	holder, found, err := m.byAlias(ctx, mv.Name, alias)
	if err != nil {
		return "", err
	}
	if found {
		if holder.Version == ch.Restore { // a retry: already given back
			return ch.Restore, nil
		}
		return "", nil
	}
	prev, err := m.getVersion(ctx, mv.Name, ch.Restore)
	if err != nil {
		return "", err
	}
	// Production without the alias: a retry after the tags were set.
	if st := prev.tag(TagStage); st != string(contract.StageArchived) && st != string(contract.StageProduction) {
		return "", nil
	}
	back := StageChange{Stage: contract.StageProduction, Actor: ch.Actor,
		Reason: fmt.Sprintf("Production given back: version %s reverted (%s)", mv.Version, ch.Reason)}
	if err := m.setStageTags(ctx, prev, contract.StageProduction, back); err != nil {
		return "", err
	}
	if err := m.moveAliases(ctx, prev, alias); err != nil {
		return "", err
	}
	return prev.Version, nil
}
