/** The tool's name and version, recorded in every manifest. Kept in step with package.json. */
export const TOOL = { name: 'kubectl-entando', version: '0.1.0' } as const;
