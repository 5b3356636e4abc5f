declare module 'postject' {
  interface InjectOptions {
    machoSegmentName?: string;
    overwrite?: boolean;
    sentinelFuse?: string;
  }
  const postject: {
    inject(
      filename: string,
      resourceName: string,
      resourceData: Buffer,
      options?: InjectOptions,
    ): Promise<void>;
  };
  export default postject;
}
