/**
 * The smallest bundle a function of this stack could be: the Glue client, bundled (the Lambda runtime's
 * SDK may lack the materialized-view commands), and one command. The benchmark measures its cold start
 * as the floor the real bundles are compared with.
 */
import { GlueClient, StopMaterializedViewRefreshTaskRunCommand } from '@aws-sdk/client-glue';

const glue = new GlueClient({});

export const handler = async (event: { CatalogId: string; DatabaseName: string; TableName: string }) =>
  glue.send(new StopMaterializedViewRefreshTaskRunCommand(event));
