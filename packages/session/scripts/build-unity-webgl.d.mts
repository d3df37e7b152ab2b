/** clients/unity/Runtime/Unity/Plugins/WebGL/tether-session.jspre */
export const JSPRE: string;
/** The bundle's text, built in memory from the sources. */
export function bundleUnityWebGL(): Promise<string>;
